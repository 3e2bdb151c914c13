"""The Stage-1 progress bar shows iteration/max_iterations, not "Epoch 0/-2" and one pass of the data set."""

from __future__ import annotations

import pytorch_lightning as pl

from tests.test_synthetic_resume import _synthetic_config
from toonlift.callbacks.iteration_progress import IterationProgressBar
from toonlift.cli import cli_main


class _ReadBar(pl.Callback):
    """Records the bar's training task (description, completed, total) after every batch."""

    def __init__(self, bar: IterationProgressBar) -> None:
        self.bar, self.seen = bar, []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        task = self.bar.progress.tasks[self.bar.train_progress_bar_id]
        self.seen.append((task.description.strip(), int(task.completed), int(task.total)))


def test_the_bar_counts_the_modules_iterations(tmp_path):
    cfg = _synthetic_config(tmp_path, "tiny.yaml", tmp_path / "run")
    argv = ["--config", str(cfg), "--model.init_args.max_iterations", "3", "--trainer.enable_progress_bar", "true"]
    argv += ["--data.init_args.num_samples", "400"]  # 100 batches a pass: Lightning's bar would read 1/100
    argv += ["--trainer.callbacks+=toonlift.callbacks.iteration_progress.IterationProgressBar"]
    cli = cli_main(argv, run=False)
    bar = next(c for c in cli.trainer.callbacks if isinstance(c, IterationProgressBar))
    reader = _ReadBar(bar)
    cli.trainer.callbacks.append(reader)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert reader.seen == [("Iteration", 1, 3), ("Iteration", 2, 3), ("Iteration", 3, 3)]
