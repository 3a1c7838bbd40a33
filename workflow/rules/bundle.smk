# The model bundle: the final blend's fold models, ready for `saltseg predict` on new tiles.


rule export_bundle:
    input:
        unpack(tileset),
        checkpoints=bundle_fold_files(rules.train_fold.output.checkpoint),
        oofs=bundle_fold_files(rules.predict_fold.output.oof),
        scores=rules.blend_final.output.scores,
    output:
        bundle=directory("results/bundle"),
    log:
        "results/logs/export_bundle.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        members=bundle_members(),
        postprocess=config_at("postprocess"),
    script:
        "../scripts/export_bundle.py"


rule predict_new_tiles:
    input:
        bundle=rules.export_bundle.output.bundle,
        source=predict_source,
    output:
        folder=directory(PREDICT_DIR),
    log:
        "results/logs/predict_new_tiles.log",
    benchmark:
        "results/benchmarks/predict_new_tiles.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        **cluster_resources("gpu"),
        gpu=gpu_slots(),
        mem_mb=8000,
        runtime=120,
    params:
        device=runtime("device"),
        precision=runtime("precision"),
    script:
        "../scripts/predict_new_tiles.py"


rule predict:
    input:
        rules.predict_new_tiles.output.folder,
