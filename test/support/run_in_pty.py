# Runs a command in a pseudo-terminal of a given size, relaying our stdin to it and its
# output to our stdout, then exits with its exit status. Used by the CLI tests to see what a
# user at a terminal sees (and to type keys such as Ctrl-C). Python's pty module is on every
# machine with python3, so the tests need nothing installed.
#   python3 run_in_pty.py COLS ROWS COMMAND [ARGS...]
import fcntl
import os
import pty
import select
import struct
import sys
import termios

cols, rows, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(cmd[0], cmd)

watch = [fd, 0]
while True:
    try:
        ready, _, _ = select.select(watch, [], [])
    except InterruptedError:
        continue
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            watch.remove(0)
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        os.write(1, data)

_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
