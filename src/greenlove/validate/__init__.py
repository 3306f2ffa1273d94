"""Built-in workloads and the accuracy benchmark."""
