//! Neural-network building blocks on the autograd tape (layers, losses, optimisers, data).
