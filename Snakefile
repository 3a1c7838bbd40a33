# saltseg: the 1st-place TGS Salt recipe as a Snakemake workflow.
#
#   snakemake submission --cores 8 --resources gpu=1          # real data, config.yaml
#   snakemake submission --cores 2 --configfile config/demo.yaml   # synthetic demo on a CPU
#   snakemake -n  /  snakemake --rulegraph mermaid-js
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# config.yaml is the default; a --configfile replaces it instead of being merged into it, so
# config/demo.yaml does not inherit config.yaml's models.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/blend.smk"
include: "workflow/rules/postprocess.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/bundle.smk"


rule all:
    default_target: True
    input:
        rules.report.output.markdown,
        rules.submission.output.csv,
        rules.summarise_data.output.summary,
        rules.export_bundle.output.bundle,
