"""What every layer may import: the error types users see and process-wide setup.

Nothing here imports another part of the project, so components, transforms,
models, the pipeline factory, the metadata room and the commands can all use it.
"""
