"""The world and what counts as done: scene, goals, rewards, executor, demonstrator, dataset."""
