# Data: the synthetic default, the prepared tile set, the folds and the tile mosaics.


rule synth:
    output:
        folder=directory(SYNTH_DIR),
    log:
        "results/logs/synth.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        settings=config_at("data", "synthetic"),
    script:
        "../scripts/synth.py"


rule prepare_data:
    input:
        folder=data_source,
    output:
        images="results/data/images.npy",
        masks="results/data/masks.npy",
        tiles="results/data/tiles.parquet",
    log:
        "results/logs/prepare_data.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
        mem_mb=4000,
        runtime=30,
    params:
        source=DATA_DIR,
        hint=KAGGLE_HINT,
    script:
        "../scripts/prepare_data.py"


rule summarise_data:
    input:
        unpack(tileset),
    output:
        summary=report(
            "results/data/summary.json",
            caption="../report/data_summary.rst",
            category="data",
        ),
    log:
        "results/logs/summarise_data.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    script:
        "../scripts/summarise_data.py"


rule make_folds:
    input:
        unpack(tileset),
    output:
        folds="results/data/folds.parquet",
    log:
        "results/logs/make_folds.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        scheme=config_at("folds"),
    script:
        "../scripts/make_folds.py"


rule build_mosaic:
    input:
        unpack(tileset),
    output:
        layout="results/mosaic/layout.parquet",
        summary=report(
            "results/mosaic/summary.json",
            caption="../report/mosaic_summary.rst",
            category="mosaics",
        ),
    log:
        "results/logs/build_mosaic.log",
    benchmark:
        "results/benchmarks/build_mosaic.tsv"
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
        mem_mb=4000,
        runtime=30,
    params:
        settings=config_at("mosaic"),
    script:
        "../scripts/build_mosaic.py"
