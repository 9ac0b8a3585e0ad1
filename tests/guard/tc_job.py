"""What a job's test suite does with testcontainers-python (4.14), through DOCKER_HOST.

  tc_job.py run IMAGE       start a container, wait for its log line, exec in it, stop it
  tc_job.py leave IMAGE     start one and exit without stopping it (a test process that dies):
                            with Ryuk on, the reaper removes it once this process is gone

Prints one "key=value" line per result; exit status 0 when the client calls all succeeded.
"""
import sys

from testcontainers.core.container import DockerContainer
from testcontainers.core.labels import SESSION_ID
from testcontainers.core.wait_strategies import LogMessageWaitStrategy


def main():
    what, image = sys.argv[1], sys.argv[2]
    c = (DockerContainer(image)
         .with_command(["/bin/sh", "-c", "echo tc-ready; exec sleep 600"])
         .waiting_for(LogMessageWaitStrategy("tc-ready").with_startup_timeout(30)))
    c.start()  # returns once the log line is there
    print("container=%s" % c.get_wrapped_container().id, flush=True)
    print("session=%s" % SESSION_ID, flush=True)
    print("ready=1", flush=True)
    if what == "leave":
        return 0
    code, out = c.exec(["/bin/echo", "exec-ok"])
    print("exec=%d %s" % (code, out.decode().strip()), flush=True)
    c.stop()
    print("stopped=1", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
