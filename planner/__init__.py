"""The Diffuser: temporal U-Net, diffusion, guides, conditioning, training, planning."""
