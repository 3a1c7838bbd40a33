"""The ``saltseg`` command: data tools around the workflow (synth, check-data, score, mosaic)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from saltseg import __version__
from saltseg.errors import SaltsegError


def _print_table(title: str, values: dict) -> None:
    print(title)
    width = max(len(k) for k in values)
    for key, value in values.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"  {key:<{width}}  {shown}")


def _cmd_synth(args: argparse.Namespace) -> None:
    from saltseg.synth import generate

    summary = generate(
        args.out_dir,
        seed=args.seed,
        sections=args.sections,
        rows=args.rows,
        cols=args.cols,
        train_fraction=args.train_fraction,
        depths=args.depths,
    )
    _print_table(f"wrote {args.out_dir}", summary)


def _cmd_check_data(args: argparse.Namespace) -> None:
    from saltseg.data import read_kaggle, summary

    _print_table(f"{args.data_dir}: OK", summary(read_kaggle(args.data_dir)))


def _cmd_score(args: argparse.Namespace) -> None:
    from saltseg.submission import score_files

    _print_table(
        f"{args.submission} against {args.answers}", score_files(args.submission, args.answers)
    )


def _cmd_mosaic(args: argparse.Namespace) -> None:
    from saltseg.mosaic import run_mosaic

    _print_table(f"wrote {args.out}", run_mosaic(args.data_dir, args.out))


def _cmd_mosaic_eval(args: argparse.Namespace) -> None:
    from saltseg.mosaic_eval import run_mosaic_eval

    _print_table(f"mosaic accuracy on {args.synth_dir}", run_mosaic_eval(args.synth_dir))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saltseg", description=__doc__)
    parser.add_argument("--version", action="version", version=f"saltseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic TGS-like dataset in the Kaggle layout")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sections", type=int, default=8, help="seismic sections to generate")
    p.add_argument("--rows", type=int, default=6, help="tile rows per section")
    p.add_argument("--cols", type=int, default=21, help="tile columns per section")
    p.add_argument("--train-fraction", type=float, default=0.18, help="share of tiles with masks")
    p.add_argument(
        "--depths", choices=["all", "train"], default="all", help="which ids depths.csv covers"
    )
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("check-data", help="validate a Kaggle-layout folder and summarise it")
    p.add_argument("data_dir")
    p.set_defaults(func=_cmd_check_data)

    p = sub.add_parser("score", help="score a submission CSV against an answers CSV")
    p.add_argument("submission")
    p.add_argument("answers")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser(
        "mosaic", help="re-assemble the tiles of a Kaggle-layout folder into mosaics"
    )
    p.add_argument("data_dir")
    p.add_argument("out", help="output parquet: id, mosaic, row, col")
    p.set_defaults(func=_cmd_mosaic)

    p = sub.add_parser("mosaic-eval", help="mosaic accuracy on a synthetic folder with truth/")
    p.add_argument("synth_dir")
    p.set_defaults(func=_cmd_mosaic_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
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
