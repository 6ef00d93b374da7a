"""`python -m irlkit.replay`: play stored episodes back in a window or to a video (`irlkit.teleop.playback`)."""
