"""The networks and their training: spec, network, inputs, losses, training loop, prediction."""
