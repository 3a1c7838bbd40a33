# Post-processing (threshold, small components, blank tiles, mosaic rules), its effect on the
# out-of-fold maps, and the submission.


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
        stats=report(
            "results/postprocess/stats.csv",
            caption="../report/postprocess_stats.rst",
            category="post-processing",
            labels={"figure": "tiles changed"},
        ),
        ablation=report(
            "results/postprocess/ablation.csv",
            caption="../report/ablation.rst",
            category="post-processing",
            labels={"figure": "ablation"},
        ),
    log:
        "results/logs/postprocess.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        settings=config_at("postprocess"),
    script:
        "../scripts/postprocess.py"


rule postprocess_oof:
    input:
        unpack(tileset),
        unpack(mosaic_layout),
        oof=rules.blend_final.output.oof,
        scores=rules.blend_final.output.scores,
        folds=rules.make_folds.output.folds,
    output:
        ablation=report(
            "results/postprocess/oof_ablation.csv",
            caption="../report/oof_ablation.rst",
            category="post-processing",
            labels={"figure": "OOF ablation"},
        ),
    log:
        "results/logs/postprocess_oof.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        settings=config_at("postprocess"),
    script:
        "../scripts/postprocess_oof.py"


rule submission:
    input:
        unpack(tileset),
        unpack(truth),
        masks=rules.postprocess.output.masks,
    output:
        csv=report(
            "results/submission.csv",
            caption="../report/submission.rst",
            category="final",
            labels={"figure": "submission"},
        ),
        score=report(
            "results/test_score.txt",
            caption="../report/test_score.rst",
            category="final",
            labels={"figure": "test score"},
        ),
    log:
        "results/logs/submission.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    script:
        "../scripts/submission.py"


rule plot_mosaics:
    input:
        unpack(tileset),
        layout=rules.build_mosaic.output.layout,
        masks=rules.postprocess.output.masks,
    output:
        png=report(
            "results/report/mosaics.png",
            caption="../report/mosaics.rst",
            category="mosaics",
            labels={"figure": "largest mosaics"},
        ),
    log:
        "results/logs/plot_mosaics.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    script:
        "../scripts/plot_mosaics.py"
