# Blends: fold averages per model, a blend per stage, and the final cross-stage blend.


rule average_folds:
    input:
        oofs=fold_files("oof"),
        tests=fold_files("test"),
        folds=rules.make_folds.output.folds,
    output:
        oof="results/{stage}/models/{model}/oof.npz",
        test="results/{stage}/models/{model}/test.npz",
    log:
        "results/logs/{stage}/{model}/average_folds.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    script:
        "../scripts/average_folds.py"


rule blend_stage:
    input:
        unpack(tileset),
        oofs=blend_inputs(stage_weights, "oof"),
        tests=blend_inputs(stage_weights, "test"),
    output:
        oof="results/{stage}/blend/oof.npz",
        test="results/{stage}/blend/test.npz",
        scores=report(
            "results/{stage}/blend/scores.csv",
            caption="../report/stage_scores.rst",
            category="{stage}",
            labels={"stage": "{stage}", "figure": "OOF scores"},
        ),
    log:
        "results/logs/{stage}/blend_stage.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        weights=stage_weights,
    script:
        "../scripts/blend_stage.py"


rule blend_final:
    input:
        unpack(tileset),
        oofs=blend_inputs(final_weights, "oof"),
        tests=blend_inputs(final_weights, "test"),
    output:
        oof="results/final/oof.npz",
        test="results/final/test.npz",
        scores=report(
            "results/final/scores.csv",
            caption="../report/final_scores.rst",
            category="final",
            labels={"figure": "OOF scores"},
        ),
    log:
        "results/logs/blend_final.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        weights=final_weights(),
    script:
        "../scripts/blend_final.py"
