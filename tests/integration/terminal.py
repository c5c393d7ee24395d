"""Driving a terminal program as a person would: a tmux session of its own (send-keys, and the
screen read back with capture-pane). Waits poll the screen for the text expected on it."""
import shlex
import subprocess
import time
import uuid


class Screen:
    def __init__(self, command, width=120, height=35, env=None):
        self.name = "agentos-" + uuid.uuid4().hex[:12]
        self.socket = ["-L", self.name]  # a server of its own: no test sees another's sessions
        # The shell stays after the command, so that its exit status can be read off the screen.
        shell = f"{command}; echo EXIT=$?; exec sleep 600"
        subprocess.run(["tmux", *self.socket, "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), "sh", "-c", shell], check=True, env=env)

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", *self.socket, *args], capture_output=True, text=True, check=check)

    def text(self):
        return self.tmux("capture-pane", "-p", "-t", self.name).stdout

    def keys(self, *keys, literal=False):
        self.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def type(self, line):
        """Types a line and presses Enter."""
        self.keys(line, literal=True)
        self.keys("Enter")

    def wait_for(self, text, timeout=30, count=1):
        """Waits until `text` is on the screen (`count` times); returns the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if screen.count(text) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on the screen; it shows:\n{screen}")
            time.sleep(0.05)  # polling the screen, the only signal a terminal gives

    def resize(self, width, height):
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def close(self):
        self.tmux("kill-server", check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def as_user(user, argv):
    """A command line running argv as `user` with their groups, keeping the terminal."""
    return "runuser -u " + shlex.quote(user) + " -- " + shlex.join(argv)
