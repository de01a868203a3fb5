"""dist-video: DiST (ICCV 2023) image-to-video transfer learning, as a library."""

__version__ = "0.1.0"
