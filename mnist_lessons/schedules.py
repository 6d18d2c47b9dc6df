"""Learning-rate schedules, stepped once per epoch by ``fit``: frozen dataclasses called as
``schedule(optimizer, epochs)``, so a schedule is a plain ``RunConfig`` setting that prints and compares by value."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import check_int, check_number

Scheduler = torch.optim.lr_scheduler.LRScheduler


@dataclass(frozen=True)
class StepSchedule:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (``StepLR``)."""

    step_size: int
    gamma: float

    def __post_init__(self) -> None:
        check_int("step_size", self.step_size, minimum=1)
        check_number("gamma", self.gamma, minimum=0.0, strict=True)

    def __call__(self, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler:
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.step_size, gamma=self.gamma)


@dataclass(frozen=True)
class CosineSchedule:
    """Lower the learning rate along half a cosine, from its start towards ``eta_min`` over the run."""

    eta_min: float = 0.0

    def __post_init__(self) -> None:
        check_number("eta_min", self.eta_min, minimum=0.0)

    def __call__(self, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=self.eta_min)


__all__ = ["CosineSchedule", "Scheduler", "StepSchedule"]
