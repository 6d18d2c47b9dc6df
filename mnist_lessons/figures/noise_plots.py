"""Figures for seed studies: the mean over seeds as a line, one standard deviation as a band.

A chapter draws a sweep's studies with ``plot_seed_bands(sweep.studies, metrics=("val_acc", "val_loss"))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from ..experiments.noise import SeedStudy

#: Axis titles for the metrics a band plot can draw.
AXIS_TITLES: dict[str, str] = {
    "val_acc": "Validation accuracy (%)",
    "train_acc": "Training accuracy (%)",
    "val_loss": "Validation loss",
    "train_loss": "Training loss",
    "gap": "Training − validation accuracy (points)",
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_seed_bands(studies: Mapping[str, SeedStudy], metrics: Sequence[str] = ("val_acc", "val_loss")) -> Figure:
    """One panel per metric: each study's mean per epoch (line, own marker) and mean ± std (band).

    Epochs are numbered from 1 (the point after the first epoch). The legend
    sits below the panels, so it never covers a curve.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from .style import use_style

    if not studies:
        raise ValueError("plot_seed_bands() needs at least one SeedStudy")
    unknown = [m for m in metrics if m not in AXIS_TITLES]
    if not metrics or unknown:
        raise ValueError(f"metrics must be some of {', '.join(AXIS_TITLES)}, got {list(metrics)}")
    use_style()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.6), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (label, study) in enumerate(studies.items()):
            epochs, mean, std = study.curve(metric)
            x = list(epochs)  # History counts epochs completed, from 1
            color, marker = f"C{i % 10}", MARKERS[i % len(MARKERS)]
            ax.plot(x, mean, color=color, marker=marker, markersize=4, label=f"{label} ({len(study.seeds)} seeds)")
            ax.fill_between(x, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                            color=color, alpha=0.2, linewidth=0)
        ax.set(xlabel="Epochs completed", ylabel=AXIS_TITLES[metric])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(studies)))
    return fig


__all__ = ["AXIS_TITLES", "plot_seed_bands"]
