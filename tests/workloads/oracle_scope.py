"""A _thread thread, a forked child and sys.path[0] (tests/test_fidelity.py:
oracle_sees_threads_forks_and_sys_path)."""
import os, sys, _thread, time
def leaf(x):
    return x * 2
def step(i):
    return leaf(i)
done = []
def in_thread(i):
    step(i)
    done.append(i)
_thread.start_new_thread(in_thread, (10,))
while not done:
    time.sleep(0.01)
step(1)
pid = os.fork()
if pid == 0:
    step(2)
    os._exit(0)
os.waitpid(pid, 0)
step(3)
print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
