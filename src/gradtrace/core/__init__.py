"""Pure JAX + optax: models, losses, optimizers, batch plans and the training scan.

Nothing here reads or writes files, prints, plots or knows the command line.
"""
