# Ensembles: fold averages per model, a blend per stage, and the final cross-stage blend.


rule average_folds:
    input:
        oof=lambda w: fold_predictions(w.stage, w.model, "oof"),
        test=lambda w: fold_predictions(w.stage, w.model, "test"),
        folds=rules.make_folds.output.folds,
    output:
        oof="results/{stage}/{model}/oof.npz",
        test="results/{stage}/{model}/test.npz",
    log:
        "results/logs/{stage}/{model}/average_folds.log",
    conda:
        "../envs/saltseg.yaml"
    script:
        "../scripts/average_folds.py"


rule ensemble:
    input:
        oof=blend_inputs(stage_blend, "oof"),
        test=blend_inputs(stage_blend, "test"),
        data=rules.prepare_data.output.table,
    output:
        oof="results/{stage}/ensemble/oof.npz",
        test="results/{stage}/ensemble/test.npz",
        scores="results/{stage}/ensemble/scores.csv",
    log:
        "results/logs/{stage}/ensemble.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        weights=stage_blend,
    script:
        "../scripts/ensemble.py"


rule blend_final:
    input:
        oof=blend_inputs(final_blend, "oof"),
        test=blend_inputs(final_blend, "test"),
        data=rules.prepare_data.output.table,
    output:
        oof="results/final/oof.npz",
        test="results/final/test.npz",
        scores="results/final/scores.csv",
    log:
        "results/logs/blend_final.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        weights=final_blend(),
    script:
        "../scripts/ensemble.py"
