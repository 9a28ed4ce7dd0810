"""Training: the self-play driver and learner, the replay buffer, run directories, pretraining."""
