# Training and prediction: one job per stage x model x fold, plus pseudo labels and pretraining.


rule make_pseudo_labels:
    input:
        probs=pseudo_source,
        table=rules.prepare_data.output.table,
    output:
        labels="results/{stage}/pseudo/labels.npz",
        counts="results/{stage}/pseudo/counts.json",
    log:
        "results/logs/{stage}/make_pseudo_labels.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        pseudo=pseudo_params,
    script:
        "../scripts/make_pseudo_labels.py"


rule pretrain_on_pseudo:
    input:
        data=rules.prepare_data.output.table,
        pseudo="results/{stage}/pseudo/labels.npz",
    output:
        model="results/{stage}/{model}/pretrain/model.pt",
        history="results/{stage}/{model}/pretrain/history.csv",
        curves="results/{stage}/{model}/pretrain/curves.png",
    log:
        "results/logs/{stage}/{model}/pretrain.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/pretrain.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        gpu=1,
    params:
        spec=pretrain_spec,
        device=runtime("device"),
        precision=runtime("precision"),
    script:
        "../scripts/pretrain_on_pseudo.py"


rule train_fold:
    input:
        unpack(train_fold_inputs),
    output:
        model="results/{stage}/{model}/fold{fold}/model.pt",
        history="results/{stage}/{model}/fold{fold}/history.csv",
        curves="results/{stage}/{model}/fold{fold}/curves.png",
    log:
        "results/logs/{stage}/{model}/train_fold{fold}.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/train_fold{fold}.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        gpu=1,
    params:
        spec=model_spec,
        mode=stage_mode,
        append_pseudo=lambda w: stage_config(w.stage).get("append_pseudo", {}),
        device=runtime("device"),
        precision=runtime("precision"),
    script:
        "../scripts/train_fold.py"


rule predict_fold:
    input:
        model=rules.train_fold.output.model,
        data=rules.prepare_data.output.table,
        folds=rules.make_folds.output.folds,
    output:
        oof="results/{stage}/{model}/fold{fold}/oof.npz",
        test="results/{stage}/{model}/fold{fold}/test.npz",
    log:
        "results/logs/{stage}/{model}/predict_fold{fold}.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/predict_fold{fold}.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        gpu=1,
    params:
        predict=predict_params,
        device=runtime("device"),
        precision=runtime("precision"),
    script:
        "../scripts/predict_fold.py"
