# The report: what each stage reached, pseudo-label counts, test score and wall time per rule.


rule report:
    input:
        unpack(report_inputs),
        final_scores=rules.blend_final.output.scores,
        stats=rules.postprocess.output.stats,
        ablation=rules.postprocess.output.ablation,
        submission=rules.submission.output.csv,
        score=rules.submission.output.score,
    output:
        markdown="results/report.md",
        figure="results/report/stages.png",
    log:
        "results/logs/report.log",
    conda:
        "../envs/saltseg.yaml"
    script:
        "../scripts/report.py"
