// placeholder until the log model lands
