"""Data shared by training and runtime.

Owns: the crop definitions and the one crop function both training and the runtime use (`crops`), model-input
preprocessing (`preprocess`), the on-disk dataset format written by the simulator and read by training
(`dataset`), real-data folder readers, augmentation. May import: numpy, stdlib; OpenCV lazily for warping/IO.
"""
