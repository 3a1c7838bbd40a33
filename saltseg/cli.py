"""The ``saltseg`` command: synth, synth-section, check-data, split, score, mosaic,
mosaic-eval, predict, predict-section and schema."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from saltseg import __version__
from saltseg.config import json_schema
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.submission import score_files
from saltseg.steps import data as data_steps
from saltseg.steps import tools
from saltseg.synth.generate import SynthOptions, generate


def _print_table(title: str, values: dict) -> None:
    print(title)
    width = max(len(k) for k in values)
    for key, value in values.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key:<{width}}  {shown}")


def _cmd_synth(args: argparse.Namespace) -> None:
    fields = {f: getattr(args, f) for f in SynthOptions.model_fields}
    summary = generate(args.out_dir, SynthOptions.parse(fields, args.out_dir))
    _print_table(f"wrote {args.out_dir}", summary)


def _cmd_check_data(args: argparse.Namespace) -> None:
    _print_table(f"{args.data_dir}: OK", tools.check_data(args.data_dir))


def _cmd_split(args: argparse.Namespace) -> None:
    result = tools.split_data(
        args.data_dir, args.out_dir, args.test_fraction, args.seed,
        keep_unlabelled=args.keep_unlabelled,
    )  # fmt: skip
    _print_table(f"wrote {args.out_dir}", result)


def _cmd_score(args: argparse.Namespace) -> None:
    _print_table(
        f"{args.submission} against {args.answers}",
        score_files(args.submission, args.answers, partial=args.partial),
    )


def _cmd_mosaic(args: argparse.Namespace) -> None:
    facts = data_steps.build_mosaic(args.data_dir, args.out, picture=args.picture)
    _print_table(f"wrote {args.out}" + (f" and {args.picture}" if args.picture else ""), facts)


def _cmd_mosaic_eval(args: argparse.Namespace) -> None:
    result = tools.mosaic_eval(args.data_dir, stability_check=not args.no_stability)
    _print_table(f"mosaics of {args.data_dir}", result)


def _cmd_predict(args: argparse.Namespace) -> None:
    from saltseg.steps.bundle import predict_tiles  # torch only for this command

    result = predict_tiles(
        args.bundle, args.source, args.out_dir, device=args.device, threads=args.threads,
        precision=args.precision, batch_size=args.batch_size, compile=args.compile,
    )  # fmt: skip
    _print_table(f"wrote {args.out_dir}", result)


def _cmd_predict_section(args: argparse.Namespace) -> None:
    from saltseg.steps.section import predict_section_file  # torch and MONAI only here

    result = predict_section_file(
        args.bundle, args.section, args.out_dir, inline=args.inline, crossline=args.crossline,
        stride=args.stride, clip_percentile=args.clip_percentile, depth_top=args.depth_top,
        depth_step=args.depth_step, batch_windows=args.batch_windows,
        column_rules=args.column_rules, truth=args.truth,
        device=args.device, threads=args.threads, precision=args.precision,
    )  # fmt: skip
    _print_table(f"wrote {args.out_dir}", result)


def _cmd_synth_section(args: argparse.Namespace) -> None:
    from saltseg.steps.section import synth_section_files

    result = synth_section_files(args.out_dir, args.seed, args.rows, args.cols)
    _print_table(f"wrote {args.out_dir}", result)


def _cmd_schema(args: argparse.Namespace) -> None:
    text = json_schema()
    if args.out is None:
        sys.stdout.write(text)
        return
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saltseg", description=__doc__)
    parser.add_argument("--version", action="version", version=f"saltseg {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log progress (-v) or debug (-vv)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic TGS-like dataset in the Kaggle layout")
    p.add_argument("out_dir")
    synth = SynthOptions()  # the defaults, defined once
    p.add_argument("--seed", type=int, default=synth.seed)
    p.add_argument("--sections", type=int, default=synth.sections, help="sections to generate")
    p.add_argument("--rows", type=int, default=synth.rows, help="tile rows per section")
    p.add_argument("--cols", type=int, default=synth.cols, help="tile columns per section")
    p.add_argument(
        "--train-fraction", type=float, default=synth.train_fraction, help="share with masks"
    )
    p.add_argument(
        "--depths", choices=["all", "train"], default=synth.depths, help="ids depths.csv covers"
    )
    p.add_argument(
        "--keep-fraction", type=float, default=synth.keep_fraction,
        help="share of each section's tiles written (real-like: most neighbours missing)",
    )  # fmt: skip
    p.add_argument(
        "--tile-noise", type=float, default=synth.tile_noise,
        help="grey-level noise per pixel (real-like seams)",
    )  # fmt: skip
    p.add_argument(
        "--tile-stretch", action="store_true", default=synth.tile_stretch,
        help="stretch each tile to 0..255 on its own, as the Kaggle tiles were",
    )  # fmt: skip
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser(
        "synth-section", help="one synthetic section as a SEG-Y line, with its salt truth"
    )
    p.add_argument("out_dir", help="new folder: section.sgy, salt.npy, section.png, section.json")
    p.add_argument("--seed", type=int, default=synth.seed)
    p.add_argument("--rows", type=int, default=synth.rows, help="height in tiles")
    p.add_argument("--cols", type=int, default=synth.cols, help="width in tiles")
    p.set_defaults(func=_cmd_synth_section)

    p = sub.add_parser("check-data", help="validate a Kaggle-layout folder and summarise it")
    p.add_argument("data_dir")
    p.set_defaults(func=_cmd_check_data)

    p = sub.add_parser(
        "split",
        help="hold out labelled tiles as a test set with known answers (a new Kaggle-layout "
        "folder, its answers in answers.csv)",
    )
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--keep-unlabelled",
        action="store_true",
        help="keep the source's test tiles as more test tiles, without answers (pseudo labels "
        "and mosaics then see them; the score covers the held-out tiles)",
    )
    p.set_defaults(func=_cmd_split)

    p = sub.add_parser("score", help="score a submission CSV against an answers CSV")
    p.add_argument("submission")
    p.add_argument("answers")
    p.add_argument(
        "--partial",
        action="store_true",
        help="the submission may hold tiles without answers; they are left out of the score",
    )
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "mosaic", help="re-assemble the tiles of a Kaggle-layout folder into mosaics"
    )
    p.add_argument("data_dir")
    p.add_argument("out", help="output parquet: id, mosaic, row, col")
    p.add_argument(
        "--picture",
        help="also draw the largest mosaics with salt (train masks in red) into this .png/.jpg",
    )
    p.set_defaults(func=_cmd_mosaic)

    p = sub.add_parser(
        "mosaic-eval",
        help="assemble and measure the mosaics: precision proxies, and the truth when synthetic",
    )
    p.add_argument("data_dir", help="a Kaggle-layout folder or a synthetic one with truth/")
    p.add_argument(
        "--no-stability", action="store_true", help="skip the re-assembly without 10%% of tiles"
    )
    p.set_defaults(func=_cmd_mosaic_eval)

    p = sub.add_parser(
        "predict", help="masks for new tiles from a model bundle (a run's results/bundle)"
    )
    p.add_argument("bundle", help="a bundle folder (results/bundle of a run)")
    p.add_argument("source", help="a folder of 101x101 PNG tiles, a Kaggle-layout folder, or .npy")
    p.add_argument("out_dir", help="new folder: masks/, submission.csv, probabilities.npz")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    p.add_argument("--precision", default="auto", help="auto | bf16 | fp32")
    p.add_argument("--batch-size", type=int, help="tiles per batch (default: the model's)")
    p.add_argument(
        "--compile", action=argparse.BooleanOptionalAction, default=None,
        help="torch.compile the networks (pays off for thousands of tiles; default: the run's)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "predict-section",
        help="salt in a whole seismic section (SEG-Y line or inline/crossline, .npy, PNG)",
    )
    p.add_argument("bundle", help="a bundle folder (results/bundle of a run)")
    p.add_argument("section", help="a SEG-Y file, or a 2-D .npy (samples x traces) or PNG")
    p.add_argument(
        "out_dir", help="new folder: probability.npy, mask.npy, overlay.png, mask.sgy (SEG-Y in)"
    )
    p.add_argument("--inline", type=int, help="the inline of a 3-D SEG-Y volume")
    p.add_argument("--crossline", type=int, help="the crossline of a 3-D SEG-Y volume")
    p.add_argument("--stride", type=int, default=50, help="window step in pixels (default 50)")
    p.add_argument(
        "--clip-percentile", type=float,
        help="stretch amplitudes between this percentile and its mirror over 0..255 (default: "
        "match the training tiles' grey mean and spread)",
    )  # fmt: skip
    p.add_argument("--depth-top", type=float, help="depth (TGS z) of the first sample row")
    p.add_argument("--depth-step", type=float, help="depth per sample row")
    p.add_argument("--batch-windows", type=int, default=64, help="windows per batch")
    p.add_argument(
        "--column-rules", action="store_true",
        help="the mosaic rules down the section's columns, confident cells governing the rest",
    )  # fmt: skip
    p.add_argument("--truth", help="a bool .npy of the section's salt: report the mask's IoU")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    p.add_argument("--precision", default="auto", help="auto | bf16 | fp32")
    p.set_defaults(func=_cmd_predict_section)

    p = sub.add_parser("schema", help="the JSON schema of the workflow config")
    p.add_argument("out", nargs="?", help="write it here (default: standard output)")
    p.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Warnings only by default: on bad input, the error is the one line on stderr.
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except SaltsegError as exc:
        print(f"saltseg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
