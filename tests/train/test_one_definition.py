"""One definition of each thing: the run-folder layout, the recipe's defaults, the formulas' sources."""

import re
from pathlib import Path

import torch
import yaml

from eval import run_folder
from train.config import Config, load_config, resolve_recipe

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("envs", "baselines", "eval", "train")


def sources():
    for package in PACKAGES:
        yield from (ROOT / package).rglob("*.py")


def test_the_run_folder_layout_is_named_only_in_eval_run_folder():
    names = [
        run_folder.CONFIG_FILE,
        run_folder.WORLD_FILE,
        run_folder.NORMALIZATION_FILE,
        run_folder.STATE_FILE,
        run_folder.EVALUATIONS_FILE,
        run_folder.TRAINING_FILE,
        run_folder.MODEL_FILE,
    ]
    for path in sources():
        if path.name == "run_folder.py":
            continue
        text = path.read_text()
        for name in names:
            assert f'"{name}"' not in text, f"{path.relative_to(ROOT)} spells the run-folder file {name!r} itself"


def test_shipped_configs_hold_only_what_differs_from_the_one_recipe():
    defaults = resolve_recipe(Config())
    for path in (ROOT / "configs").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        assert "algorithm" not in data and "env" not in data, f"{path.name} repeats the recipe"
    default = load_config(ROOT / "configs" / "default.yaml")
    assert default.algorithm == defaults.algorithm and default.env == defaults.env
    # The world sets what depends on it: a 1,000-step session gets a longer discount horizon.
    long_session = load_config(None, ["horizon=5"]).algorithm.hyperparameters
    assert long_session["gamma"] == 1 - 1 / 5000 and long_session["n_steps"] == 256
    assert default.algorithm.hyperparameters["gamma"] == 0.999 and default.algorithm.hyperparameters["n_steps"] == 200
    # A config's own values win over the recipe.
    assert load_config(None, ["algorithm.hyperparameters.n_epochs=3"]).algorithm.hyperparameters["n_epochs"] == 3


def test_docstrings_cite_sources_a_clone_can_follow():
    for path in sources():
        assert "shared/reference" not in path.read_text(), path
    assert "shared/reference" not in (ROOT / "README.md").read_text()


def test_torch_threads_is_a_config_key_the_run_applies(tmp_path):
    from train.trainer import train

    config = load_config(
        None,
        [
            "torch_threads=1",
            "total_timesteps=256",
            "horizon=0.16",
            "env.num_envs=8",
            "algorithm.hyperparameters.n_steps=32",
            "evaluation.episodes=4",
            "evaluation.baselines=[symmetric]",
        ],
    )
    torch.set_num_threads(2)
    result = train(config, tmp_path / "run")
    assert result.status == "done" and torch.get_num_threads() == 1
    assert re.search(r"torch_threads: 1", (tmp_path / "run" / "config.yaml").read_text())
