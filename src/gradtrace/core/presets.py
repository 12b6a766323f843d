"""The learning-rate schedules gradtrace knows by name: each one's parameters and
their defaults, whether it is PyTorch's (stepped once an epoch, or once a batch)
or Keras's (a function of the step count), and what it does. ``LrSchedule``
(``core.schedules``) computes their rates; ``gradtrace schedules`` lists them."""

from __future__ import annotations

from dataclasses import dataclass

#: A parameter's default (a composite's schedules have none: they are needed).
Default = float | bool | int | str | tuple[int, ...] | tuple[float, ...]


@dataclass(frozen=True)
class SchedulePreset:
    """A named schedule: its parameters' defaults (None: required), whether it is
    PyTorch's (a recursion, stepped once an epoch or with ``by_batch`` once a
    batch) or Keras's (a function of the step count), and a description."""

    name: str
    defaults: dict[str, Default | None]
    per_epoch: bool
    doc: str


SCHEDULES: dict[str, SchedulePreset] = {
    s.name: s
    for s in [
        SchedulePreset(
            "torch.step",
            {"step_size": None, "gamma": 0.1, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.StepLR: the rate times gamma every "
            "step_size epochs (or batches, by_batch=true)",
        ),
        SchedulePreset(
            "torch.exponential",
            {"gamma": None, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.ExponentialLR: the rate times gamma every epoch",
        ),
        SchedulePreset(
            "torch.cosine",
            {"T_max": None, "eta_min": 0.0, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.CosineAnnealingLR: half a cosine from the "
            "rate down to eta_min over T_max epochs",
        ),
        SchedulePreset(
            "torch.multistep",
            {"milestones": None, "gamma": 0.1, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.MultiStepLR: the rate times gamma at each "
            "milestone epoch, milestones=[30,80]",
        ),
        SchedulePreset(
            "torch.linear",
            {
                "start_factor": 1 / 3,
                "end_factor": 1.0,
                "total_iters": 5,
                "by_batch": False,
            },
            True,
            "torch.optim.lr_scheduler.LinearLR: the rate times start_factor, "
            "growing linearly to end_factor over total_iters epochs (a warm-up)",
        ),
        SchedulePreset(
            "torch.polynomial",
            {"total_iters": 5, "power": 1.0, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.PolynomialLR: the rate times "
            "(1 - epoch/total_iters) ** power, 0 from total_iters epochs on",
        ),
        SchedulePreset(
            "torch.cosine_restarts",
            {"T_0": None, "T_mult": 1, "eta_min": 0.0, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts: half a cosine "
            "from the rate down to eta_min over T_0 epochs, then again from the "
            "rate, each cycle T_mult times longer",
        ),
        SchedulePreset(
            "torch.lambda",
            {"lr_lambda": None, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.LambdaLR: the rate times lr_lambda, an "
            "expression in epoch (the scheduler's count from 0), such as "
            "0.95**epoch, or minimum(1, (epoch + 1) / 5) for a warm-up",
        ),
        SchedulePreset(
            "torch.multiplicative",
            {"lr_lambda": None, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.MultiplicativeLR: each epoch's rate the "
            "last one's times lr_lambda, an expression in epoch (from 1)",
        ),
        SchedulePreset(
            "keras.scheduler",
            {"schedule": None},
            True,
            "keras.callbacks.LearningRateScheduler: at each epoch's start the "
            "rate schedule(epoch, lr), an expression in epoch (from 0) and lr (the "
            "rate before), such as 'lr if epoch < 10 else lr * exp(-0.1)', kept "
            "in Keras's float32 variable",
        ),
        SchedulePreset(
            "torch.constant",
            {"factor": 1 / 3, "total_iters": 5, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.ConstantLR: the rate times factor for the "
            "first total_iters epochs, then the rate",
        ),
        SchedulePreset(
            "torch.sequential",
            {"schedulers": None, "milestones": None, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.SequentialLR: one schedule after another, "
            "each from the rate anew at its milestone epoch (a warm-up, then a "
            "cosine: see below)",
        ),
        SchedulePreset(
            "torch.chained",
            {"schedulers": None, "by_batch": False},
            True,
            "torch.optim.lr_scheduler.ChainedScheduler: every schedule stepped "
            "each epoch, one after the other, each changing the rate the last "
            "left (see below)",
        ),
        SchedulePreset(
            "torch.onecycle",
            {
                "total_steps": 0,
                "pct_start": 0.3,
                "anneal_strategy": "cos",
                "cycle_momentum": True,
                "base_momentum": 0.85,
                "max_momentum": 0.95,
                "div_factor": 25.0,
                "final_div_factor": 1e4,
                "three_phase": False,
            },
            True,
            "torch.optim.lr_scheduler.OneCycleLR, stepped after each batch: the "
            "rate climbs from lr/div_factor to lr (its max_lr) over pct_start of "
            "the steps and anneals to lr/div_factor/final_div_factor; the "
            "momentum (beta1) cycles the other way, max_momentum to base_momentum "
            "and back (cycle_momentum=false: left alone); total_steps: the run's",
        ),
        SchedulePreset(
            "torch.cyclic",
            {
                "base_lr": None,
                "step_size_up": 2000,
                "step_size_down": 0,
                "mode": "triangular",
                "gamma": 1.0,
                "cycle_momentum": True,
                "base_momentum": 0.8,
                "max_momentum": 0.9,
            },
            True,
            "torch.optim.lr_scheduler.CyclicLR, stepped after each batch: the rate "
            "climbs from base_lr to lr (its max_lr) over step_size_up steps and back "
            "over step_size_down (0: as many), each cycle's height scaled by mode "
            "(triangular: alike; triangular2: halved each cycle; exp_range: "
            "gamma**step); the momentum (beta1) cycles the other way, unless "
            "cycle_momentum=false",
        ),
        SchedulePreset(
            "keras.exponential",
            {"decay_steps": None, "decay_rate": None, "staircase": False},
            False,
            "keras.optimizers.schedules.ExponentialDecay: "
            "lr * decay_rate ** (step / decay_steps)",
        ),
        SchedulePreset(
            "keras.inverse_time",
            {"decay_steps": None, "decay_rate": None, "staircase": False},
            False,
            "keras.optimizers.schedules.InverseTimeDecay: "
            "lr / (1 + decay_rate * step / decay_steps)",
        ),
        SchedulePreset(
            "keras.cosine",
            {
                "decay_steps": None,
                "alpha": 0.0,
                "warmup_steps": 0,
                "warmup_target": 0.0,
            },
            False,
            "keras.optimizers.schedules.CosineDecay: half a cosine from lr down to "
            "alpha * lr over decay_steps steps; with warmup_steps, first a line "
            "from lr up to warmup_target, and the cosine from there",
        ),
        SchedulePreset(
            "keras.cosine_restarts",
            {"first_decay_steps": None, "t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0},
            False,
            "keras.optimizers.schedules.CosineDecayRestarts: half a cosine from lr "
            "down to alpha * lr over first_decay_steps steps, then again from "
            "m_mul times the last height, each cycle t_mul times longer",
        ),
        SchedulePreset(
            "keras.polynomial",
            {
                "decay_steps": None,
                "end_learning_rate": 0.0001,
                "power": 1.0,
                "cycle": False,
            },
            False,
            "keras.optimizers.schedules.PolynomialDecay: from lr to "
            "end_learning_rate over decay_steps steps, as (1 - step/decay_steps) "
            "** power (a line at power 1); cycle: again over each multiple",
        ),
        SchedulePreset(
            "keras.piecewise",
            {"boundaries": None, "values": None},
            False,
            "keras.optimizers.schedules.PiecewiseConstantDecay: the rate values[0] "
            "up to step boundaries[0], values[1] up to boundaries[1], ...: the "
            "rates themselves (--lr is values[0])",
        ),
        SchedulePreset(
            "torch.plateau",
            {
                "factor": 0.1,
                "patience": 10,
                "threshold": 1e-4,
                "threshold_mode": "rel",
                "cooldown": 0,
                "min_lr": 0.0,
                "eps": 1e-8,
                "monitor": "loss",
            },
            True,
            "torch.optim.lr_scheduler.ReduceLROnPlateau (mode=min): the rate times "
            "factor once the epoch's loss has not fallen below best * (1 - "
            "threshold) for more than patience epochs; scheduler.step(loss) after "
            "each epoch, the loss averaged over its rows (monitor=val_loss: "
            "scheduler.step(val_loss), the validation data's loss after the epoch)",
        ),
        SchedulePreset(
            "keras.plateau",
            {
                "factor": 0.1,
                "patience": 10,
                "min_delta": 1e-4,
                "cooldown": 0,
                "min_lr": 0.0,
                "monitor": "loss",
            },
            True,
            "keras.callbacks.ReduceLROnPlateau: the rate times factor once the "
            "loss watched has not fallen by min_delta below its best for patience "
            "epochs: the validation data's where the run has them (Keras's "
            "monitor=val_loss), else the epoch's logged loss (monitor=loss)",
        ),
    ]
}
