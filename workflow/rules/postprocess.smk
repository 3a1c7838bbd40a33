# Post-processing (threshold, small components, blank tiles, mosaic rules) and the submission.


rule postprocess:
    input:
        unpack(needs_test_tiles("submission")),
        unpack(tileset),
        unpack(mosaic_layout),
        unpack(truth),
        probs=rules.blend_final.output.test,
        scores=rules.blend_final.output.scores,
    output:
        masks="results/postprocess/masks.npz",
        stats="results/postprocess/stats.csv",
        ablation="results/postprocess/ablation.csv",
    log:
        "results/logs/postprocess.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        settings=config_at("postprocess"),
    script:
        "../scripts/postprocess.py"


rule submission:
    input:
        unpack(tileset),
        unpack(truth),
        masks=rules.postprocess.output.masks,
    output:
        csv="results/submission.csv",
        score="results/test_score.txt",
    log:
        "results/logs/submission.log",
    conda:
        "../envs/saltseg.yaml"
    script:
        "../scripts/submission.py"


rule plot_mosaics:
    input:
        unpack(tileset),
        layout=rules.build_mosaic.output.layout,
        masks=rules.postprocess.output.masks,
    output:
        png="results/report/mosaics.png",
    log:
        "results/logs/plot_mosaics.log",
    conda:
        "../envs/saltseg.yaml"
    script:
        "../scripts/plot_mosaics.py"
