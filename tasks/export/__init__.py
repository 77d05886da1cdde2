"""Demonstrations and plans as datasets other libraries load: LeRobot (`lerobot`) and robomimic
(`robomimic`). `episodes.select` checks what to export before any work; each writer takes the
selection and writes a whole dataset or none. The 3-D view's frames come from the caller (the
command renders them with app.render): tasks/ draws nothing itself."""
