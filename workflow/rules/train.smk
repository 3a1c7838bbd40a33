# Training and prediction: one job per stage x model x fold, plus pseudo labels and pretraining.


rule make_pseudo_labels:
    input:
        unpack(needs_test_tiles("pseudo labels")),
        unpack(tileset),
        probs=pseudo_probs,
    output:
        labels="results/{stage}/pseudo/labels.npz",
        counts=report(
            "results/{stage}/pseudo/counts.json",
            caption="../report/pseudo_counts.rst",
            category="{stage}",
            labels={"stage": "{stage}", "figure": "pseudo labels"},
        ),
    log:
        "results/logs/{stage}/make_pseudo_labels.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        settings=config_at("stages", "{stage}", "pseudo"),
    script:
        "../scripts/make_pseudo_labels.py"


rule pretrain_on_pseudo:
    input:
        unpack(tileset),
        pseudo=rules.make_pseudo_labels.output.labels,
    output:
        checkpoint="results/{stage}/models/{model}/pretrain/model.pt",
        history="results/{stage}/models/{model}/pretrain/history.csv",
        curves="results/{stage}/models/{model}/pretrain/curves.png",
    log:
        "results/logs/{stage}/{model}/pretrain_on_pseudo.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/pretrain_on_pseudo.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("pretrain_threads") or runtime("threads")
    resources:
        **cluster_resources("gpu"),
        gpu=gpu_slots(),
        mem_mb=8000,
        runtime=720,
    params:
        spec=pretrain_spec,
        device=runtime("device"),
        precision=runtime("precision"),
        tensorboard=tensorboard_dir,
    script:
        "../scripts/pretrain_on_pseudo.py"


rule train_fold:
    input:
        unpack(tileset),
        unpack(train_fold_inputs),
        folds=rules.make_folds.output.folds,
    output:
        checkpoint="results/{stage}/models/{model}/fold{fold}/model.pt",
        history="results/{stage}/models/{model}/fold{fold}/history.csv",
        curves=report(
            "results/{stage}/models/{model}/fold{fold}/curves.png",
            caption="../report/curves.rst",
            category="{stage}",
            subcategory="{model}",
            labels={"model": "{model}", "fold": "{fold}", "figure": "training curves"},
        ),
    log:
        "results/logs/{stage}/{model}/train_fold{fold}.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/train_fold{fold}.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        **cluster_resources("gpu"),
        gpu=gpu_slots(),
        mem_mb=8000,
        runtime=720,
    params:
        spec=model_spec,
        mode=config_at("stages", "{stage}", "models", "{model}", "mode"),
        append_pseudo=config_at("stages", "{stage}", "append_pseudo"),
        device=runtime("device"),
        precision=runtime("precision"),
        tensorboard=tensorboard_dir,
    script:
        "../scripts/train_fold.py"


rule predict_fold:
    input:
        unpack(tileset),
        checkpoint=rules.train_fold.output.checkpoint,
        folds=rules.make_folds.output.folds,
    output:
        oof="results/{stage}/models/{model}/fold{fold}/oof.npz",
        test="results/{stage}/models/{model}/fold{fold}/test.npz",
    log:
        "results/logs/{stage}/{model}/predict_fold{fold}.log",
    benchmark:
        "results/benchmarks/{stage}/{model}/predict_fold{fold}.tsv"
    conda:
        "../envs/saltseg.yaml"
    threads: runtime("threads")
    resources:
        **cluster_resources("gpu"),
        gpu=gpu_slots(),
        mem_mb=8000,
        runtime=120,
    params:
        settings=config_at("stages", "{stage}", "models", "{model}", "predict"),
        device=runtime("device"),
        precision=runtime("precision"),
    script:
        "../scripts/predict_fold.py"
