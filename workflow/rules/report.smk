# The report: what each stage reached, pseudo-label counts, test score and wall time per rule.


rule plot_predictions:
    input:
        unpack(tileset),
        oof=rules.blend_final.output.oof,
        scores=rules.blend_final.output.scores,
    output:
        png=report(
            "results/report/predictions.png",
            caption="../report/predictions.rst",
            category="final",
            labels={"figure": "predictions"},
        ),
    log:
        "results/logs/plot_predictions.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    params:
        threshold=config_at("postprocess", "threshold"),
    script:
        "../scripts/plot_predictions.py"


rule report:
    input:
        unpack(report_inputs),
        final_scores=rules.blend_final.output.scores,
        stats=rules.postprocess.output.stats,
        ablation=rules.postprocess.output.ablation,
        oof_ablation=rules.postprocess_oof.output.ablation,
        submission=rules.submission.output.csv,
        score=rules.submission.output.score,
        predictions_png=rules.plot_predictions.output.png,
    output:
        markdown="results/report.md",
        figure=report(
            "results/report/stages.png",
            caption="../report/stages_figure.rst",
            category="runtime",
            labels={"figure": "OOF metric and wall time"},
        ),
    log:
        "results/logs/report.log",
    conda:
        "../envs/saltseg.yaml"
    resources:
        **cluster_resources("cpu"),
    script:
        "../scripts/report.py"
