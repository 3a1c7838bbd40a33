# Data: the synthetic default, the cached arrays and table, the folds and the tile mosaics.


rule synth:
    output:
        data=directory(SYNTH_DIR),
    log:
        "results/logs/synth.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        synthetic=config["data"]["synthetic"],
    script:
        "../scripts/synth.py"


rule prepare_data:
    input:
        source=data_source,
    output:
        images="results/data/images.npy",
        masks="results/data/masks.npy",
        table="results/data/tiles.parquet",
    log:
        "results/logs/prepare_data.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        source=DATA_DIR,
        hint=KAGGLE_HINT,
    script:
        "../scripts/prepare_data.py"


rule make_folds:
    input:
        table=rules.prepare_data.output.table,
    output:
        folds="results/folds.parquet",
    log:
        "results/logs/make_folds.log",
    conda:
        "../envs/saltseg.yaml"
    params:
        folds=config["folds"],
    script:
        "../scripts/make_folds.py"


rule build_mosaic:
    input:
        images=rules.prepare_data.output.images,
        table=rules.prepare_data.output.table,
    output:
        layout="results/mosaic/layout.parquet",
        summary="results/mosaic/summary.json",
    log:
        "results/logs/build_mosaic.log",
    benchmark:
        "results/benchmarks/build_mosaic.tsv"
    conda:
        "../envs/saltseg.yaml"
    params:
        mosaic=config["mosaic"],
    script:
        "../scripts/build_mosaic.py"
