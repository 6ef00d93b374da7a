"""`python -m irlkit.record`: record demonstrations by teleoperation (the recorder itself is `irlkit.teleop`)."""
