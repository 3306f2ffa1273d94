"""Fakes of the hardware and of training: vendor modules, sysfs trees, clocks, epochs."""
