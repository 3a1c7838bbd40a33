# The model bundle: the final blend's fold models, ready for `saltseg predict` on new tiles.


rule export_bundle:
    input:
        unpack(tileset),
        checkpoints=bundle_checkpoints,
        scores=rules.blend_final.output.scores,
    output:
        bundle=directory("results/bundle"),
    log:
        "results/logs/export_bundle.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        members=bundle_members(),
        postprocess=config_at("postprocess"),
    script:
        "../scripts/export_bundle.py"
