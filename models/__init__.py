"""The shipped models as package data: installed as `friction_models`, found by
`friction.shipped.shipped_model_dir` through importlib.resources."""
