#!/usr/bin/env python3
# podwire probe agent: all the work podwire does inside a probe pod, in one
# file. Python 3.8+, standard library only, plus iproute2's `ip` for the
# inventory. It runs on Debian's and Alpine's python3 (nicolaka/netshoot).
#
# The source must never contain a dollar sign: as a container command it goes
# through Kubernetes' variable expansion, where two of them become one.
#
# Modes (argv[1]):
#   listen     Container command. Env POD_NAME, PODWIRE_RUN, PODWIRE_PORT_BASE.
#              Binds TCP and UDP on one port P in [base, base+49] (IPv4, and
#              IPv6 with V6ONLY when the host has it), writes P to
#              TMPDIR/podwire-RUN-POD.port (TMPDIR defaults to /tmp), prints
#              one line, and answers every TCP line and UDP datagram with
#              "<line>.from.<POD_NAME>\n". Exit 1 when no port is free.
#              PODWIRE_LOOPBACK_ONLY=1 binds 127.0.0.1 and ::1 instead (tests).
#   inventory  Prints ONE JSON object: addresses, addrText, routes, rules,
#              links, mtu (pod probes), port or portError, uplinks, and for
#              host probes firewall (the node's nat and filter tables, each
#              command's output or why there is none); with a `capture`
#              argument it also starts tcpdump (detached, confirmed listening)
#              and adds capture {pid, pcap, log} or captureError.
#   send       Prints one JSON object per line per flow, in completion order:
#              id, src, sport, sports, errno, error (when errno != 0), reply,
#              retried, ms, and for MTU flows size and routeMtu. With a
#              `capture` argument (the inventory's), it then prints
#              {"done":true}, waits for one line on stdin (every probe is done
#              sending), stops tcpdump by its PID and prints
#              {"capture":{bytes,sha256,stats}} followed by exactly that many
#              bytes of pcap, and removes the capture's files.
#   stop       Ends a capture by its PID and removes its files (cleanup).
#
# Arguments of inventory and send are one JSON object: from the exec
# bootstrap (global PODWIRE_ARGS: the bootstrap reads source and arguments
# from stdin), or, when this file is run directly, from stdin.
#
# Stdout carries only the JSON above (and the pcap bytes after their header). Any unexpected error: one line on
# stderr and a non-zero exit (2 bad arguments, 3 agent failure).

import errno
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

PORT_SPAN = 50
TCP_BACKLOG = 512
LINE_TIMEOUT_S = 6.0
MAX_LINE = 65536
MAX_PARALLEL = 128

# Linux socket options, numbered here because older Pythons lack the names.
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2
IP_MTU = 14
IPV6_MTU_DISCOVER = 23
IPV6_PMTUDISC_DO = 2
IPV6_MTU = 24
IPV6_V6ONLY = getattr(socket, 'IPV6_V6ONLY', 26)

# Largest IP packet each family can carry (IPv4 total length / IPv6 payload length are 16 bits).
MAX_IP_PACKET = {socket.AF_INET: 65535, socket.AF_INET6: 65535 + 40}
IP_UDP_HEADERS = {socket.AF_INET: 20 + 8, socket.AF_INET6: 40 + 8}

TUNNEL_KINDS = ('vxlan', 'geneve', 'ipip', 'gre', 'gretap', 'ip6gre', 'ip6gretap', 'sit', 'ip6tnl', 'wireguard')


class UsageError(Exception):
    """Bad arguments or environment: exit 2."""


_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(',', ':'), sort_keys=True)
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def errno_name(n):
    return errno.errorcode.get(n, 'E%d' % n) if n else ''


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def safe_name(s, what):
    # Run ids and pod names become part of a file name.
    if not s or len(s) > 253 or not all(c.isalnum() or c in '-._' for c in s) or s[0] == '.':
        raise UsageError('%s %r is not a plain name' % (what, s))
    return s


def port_file(run, pod):
    return os.path.join(os.environ.get('TMPDIR') or '/tmp', 'podwire-%s-%s.port' % (run, pod))


# ----------------------------------------------------------------- listen

def ipv6_available():
    if not socket.has_ipv6:
        return False
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()
        return True
    except OSError:
        return False


def bind_port(port, v6, loopback=False):
    """Binds TCP and UDP on `port`. Returns (sockets, v6_bound, None) or (None, v6, why)."""
    any4, any6 = ('127.0.0.1', '::1') if loopback else ('0.0.0.0', '::')
    specs = [(socket.AF_INET, socket.SOCK_STREAM, any4), (socket.AF_INET, socket.SOCK_DGRAM, any4)]
    if v6:
        specs += [(socket.AF_INET6, socket.SOCK_STREAM, any6), (socket.AF_INET6, socket.SOCK_DGRAM, any6)]
    socks = []
    for fam, typ, host in specs:
        s = socket.socket(fam, typ)
        try:
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_V6ONLY, 1)
            if typ == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            # SO_REUSEADDR lets two not-yet-listening sockets bind one port;
            # listen() is where the loser of that race finds out.
            if typ == socket.SOCK_STREAM:
                s.listen(TCP_BACKLOG)
        except OSError as e:
            s.close()
            if fam == socket.AF_INET6 and e.errno != errno.EADDRINUSE:
                # No usable IPv6 here (disabled, no address): IPv4 only, silently.
                for x in socks[2:]:
                    x.close()
                return socks[:2], False, None
            for x in socks:
                x.close()
            proto = 'tcp' if typ == socket.SOCK_STREAM else 'udp'
            return None, v6, '%d/%s%s: %s' % (port, proto, '6' if fam == socket.AF_INET6 else '', e.strerror or e)
        socks.append(s)
    return socks, v6, None


def answer(line, me):
    return line.strip() + b'.from.' + me + b'\n'


def read_line(sock, seconds):
    """Bytes until the first newline, EOF, MAX_LINE or `seconds`, whichever comes first."""
    deadline = time.monotonic() + seconds
    buf = b''
    while b'\n' not in buf and len(buf) < MAX_LINE:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def serve_tcp_conn(conn, me):
    try:
        buf = read_line(conn, LINE_TIMEOUT_S)
        conn.sendall(answer(buf.split(b'\n', 1)[0], me))
    except OSError:
        pass  # the peer went away: nothing to answer
    finally:
        conn.close()


def serve_tcp(sock, me):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            time.sleep(0.01)  # e.g. EMFILE under a burst: retry, never die
            continue
        try:
            threading.Thread(target=serve_tcp_conn, args=(conn, me), daemon=True).start()
        except RuntimeError:
            serve_tcp_conn(conn, me)  # no thread to spare: answer inline


def serve_udp(sock, me):
    while True:
        try:
            data, peer = sock.recvfrom(65535)
            sock.sendto(answer(data.split(b'\n', 1)[0], me), peer)
        except OSError:
            continue


def listen_mode():
    try:
        pod = safe_name(os.environ.get('POD_NAME', ''), 'POD_NAME')
        run = safe_name(os.environ.get('PODWIRE_RUN', ''), 'PODWIRE_RUN')
        base = int(os.environ.get('PODWIRE_PORT_BASE', ''))
    except ValueError:
        raise UsageError('PODWIRE_PORT_BASE must be a port number')
    if not 1 <= base <= 65535:
        raise UsageError('PODWIRE_PORT_BASE %d is not a port' % base)
    v6 = ipv6_available()
    loopback = os.environ.get('PODWIRE_LOOPBACK_ONLY') == '1'
    socks, why = None, 'no port tried'
    for port in range(base, min(base + PORT_SPAN, 65536)):
        socks, v6, why = bind_port(port, v6, loopback)
        if socks:
            break
    if not socks:
        sys.stderr.write('podwire-agent listen: no port free for both TCP and UDP in %d-%d (last: %s)\n'
                         % (base, min(base + PORT_SPAN, 65536) - 1, why))
        return 1
    path = port_file(run, pod)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write('%d\n' % port)
    os.replace(tmp, path)  # readers never see a half-written file

    def stop(signum, frame):
        try:
            os.unlink(path)
        except OSError:
            pass
        end_capture(run, pod)
        os._exit(0)

    def reap(signum, frame):
        # As a container's PID 1 the listener inherits orphans (a capture's tcpdump once its exec ended): reap them.
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGCHLD, reap)
    me = pod.encode()
    for s in socks:
        target = serve_tcp if s.type == socket.SOCK_STREAM else serve_udp
        threading.Thread(target=target, args=(s, me), daemon=True).start()
    print('podwire-agent listen: %s port %d tcp+udp ipv4%s, port file %s'
          % (pod, port, '+ipv6' if v6 else '', path), flush=True)
    while True:
        signal.pause()


# ----------------------------------------------------------------- ip(8)

def ip_cmd():
    path = shutil.which('ip') or next((p for p in ('/sbin/ip', '/usr/sbin/ip', '/bin/ip', '/usr/bin/ip') if os.path.exists(p)), None)
    if not path:
        raise RuntimeError('iproute2 `ip` not found in PATH')
    return path


def run_ip(args, stdin=None):
    """(exit code, stdout, stderr) of `ip ARGS`."""
    p = subprocess.run([ip_cmd()] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def ip_text(args):
    rc, out, err = run_ip(args)
    return out if rc == 0 else ''


def batch(commands, matches):
    """Runs `ip -o -force -batch -` on `commands` (a few processes for N lookups).

    Returns one (line, None) or (None, error text) per command. A failed
    command prints nothing to stdout and `Command failed -:N` to stderr, so
    outputs are matched to the commands that did not fail, in order; when
    that does not add up (an unexpected `ip`), each command runs alone.
    `matches(i, line)` says whether `line` answers command i.
    """
    if not commands:
        return []
    rc, out, err = run_ip(['-o', '-force', '-batch', '-'], '\n'.join(commands) + '\n')
    failed = {}
    pending = []
    for line in err.splitlines():
        if line.startswith('Command failed -:'):
            try:
                failed[int(line.split(':')[-1]) - 1] = ' '.join(pending).strip() or 'failed'
            except ValueError:
                pass
            pending = []
        elif line.strip():
            pending.append(line.strip())
    lines = [l for l in out.splitlines() if l.strip()]
    ok = [i for i in range(len(commands)) if i not in failed]
    if len(lines) == len(ok) and all(matches(i, l) for i, l in zip(ok, lines)):
        answers = [None] * len(commands)
        for i, l in zip(ok, lines):
            answers[i] = (l, None)
        for i, why in failed.items():
            if 0 <= i < len(commands):
                answers[i] = (None, why)
        if all(a is not None for a in answers):
            return answers
    answers = []
    for c in commands:
        rc, out, err = run_ip(['-o'] + c.split())
        first = next((l for l in out.splitlines() if l.strip()), None)
        answers.append((first, None) if rc == 0 and first else (None, ' '.join(err.split()) or 'ip exited %d' % rc))
    return answers


def word_after(tokens, key):
    for i in range(len(tokens) - 1):
        if tokens[i] == key:
            return tokens[i + 1]
    return None


def same_ip(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def route_answers(line, dst):
    # `ip route get` prints the destination first, after a route type for local/broadcast/... routes.
    t = line.split()
    return bool(t) and (same_ip(t[0], dst) or (len(t) > 1 and same_ip(t[1], dst)))


def parse_links(text):
    """`ip -d -o link show` → {name: {ifindex, mtu, kind, detail}}."""
    links = {}
    for line in text.splitlines():
        head, _, rest = line.partition(': ')
        if not head.strip().isdigit():
            continue
        name = rest.split(':', 1)[0].split('@', 1)[0]
        tokens = line.replace('\\', ' ').split()
        mtu = word_after(tokens, 'mtu')
        kind, detail = None, ''
        for seg in line.split('\\')[1:]:
            words = seg.split()
            if words and words[0] in TUNNEL_KINDS:
                kind, detail = words[0], seg
                break
        links[name] = {'ifindex': int(head), 'mtu': int(mtu) if mtu and mtu.isdigit() else None,
                       'kind': kind, 'detail': detail}
    return links


def parse_addresses(text):
    out = []
    for line in text.splitlines():
        t = line.replace('\\', ' ').split()
        if len(t) < 4 or not t[0].endswith(':') or t[2] not in ('inet', 'inet6') or '/' not in t[3]:
            continue
        name = t[1].split('@', 1)[0]
        if name == 'lo':
            continue
        addr, plen = t[3].split('/', 1)
        out.append({'ifname': name, 'ifindex': int(t[0][:-1]), 'family': 6 if t[2] == 'inet6' else 4,
                    'address': addr, 'prefixlen': int(plen), 'scope': word_after(t, 'scope') or ''})
    return out


# ----------------------------------------------------------------- inventory

def ifindex_of(name, links):
    if name in links:
        return links[name]['ifindex']
    try:
        with open('/sys/class/net/%s/ifindex' % name) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def read_port(run, pod, wait_ms):
    path = port_file(run, pod)
    deadline = time.monotonic() + wait_ms / 1000.0
    while True:
        try:
            with open(path) as f:
                port = int(f.read().strip())
            if 1 <= port <= 65535:
                return port, None
            return None, 'port file %s holds no port' % path
        except (OSError, ValueError):
            if time.monotonic() >= deadline:
                return None, 'no port file %s after %d ms (the listener is not running?)' % (path, wait_ms)
            time.sleep(0.05)


def check_listener(port, pod):
    """Asks the listener on loopback: a stale port file or a stranger on the port shows here."""
    probe = b'podwire-inventory-check'
    want = probe + b'.from.' + pod.encode()
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=3)
        try:
            s.sendall(probe + b'\n')
            s.shutdown(socket.SHUT_WR)
            got = b''
            while len(got) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        finally:
            s.close()
    except (OSError, socket.timeout) as e:
        return 'the listener did not answer on 127.0.0.1:%d: %s' % (port, e)
    line = got.split(b'\n', 1)[0].strip()
    if line != want:
        return 'port %d answered %r, not %r' % (port, line.decode('utf-8', 'replace')[:100], want.decode())
    return None


def multipath_routes(table_text, family):
    """Routes with several nexthops: [{table, net, devs}], and single routes: [{table, net}]."""
    multi, single = [], []
    types = ('unicast', 'local', 'broadcast', 'multicast', 'anycast', 'unreachable', 'blackhole', 'prohibit', 'throw', 'nat')
    seen = set()
    for line in table_text.splitlines():
        if line in seen:
            continue
        seen.add(line)
        head, _, hops = line.partition('nexthop')
        t = head.replace('\\', ' ').split()
        if not t:
            continue
        if t[0] in types:
            t = t[1:]
        if not t:
            continue
        dst = t[0]
        try:
            if dst == 'default':
                net = ipaddress.ip_network('0.0.0.0/0' if family == 4 else '::/0')
            else:
                net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        table = word_after(t, 'table') or 'main'
        if hops:
            devs = []
            for hop in line.split('nexthop')[1:]:
                d = word_after(hop.replace('\\', ' ').split(), 'dev')
                if d and d not in devs:
                    devs.append(d)
            multi.append({'table': table, 'net': net, 'devs': devs, 'text': dst})
        else:
            single.append({'table': table, 'net': net})
    return multi, single


def ecmp_peers(dst, table, dev, routes):
    """All nexthop devices of the most specific multipath route that decided this packet."""
    multi, single = routes
    addr = ipaddress.ip_address(dst)
    cands = [m for m in multi if m['table'] == table and m['net'].version == addr.version and addr in m['net'] and dev in m['devs']]
    if not cands:
        return None
    best = max(cands, key=lambda m: m['net'].prefixlen)
    # A more specific single route in the same table decided instead.
    if any(s['table'] == table and s['net'].version == addr.version and addr in s['net'] and s['net'].prefixlen > best['net'].prefixlen for s in single):
        return None
    return best


def underlay_of(name, links, addresses):
    """(underlay device, note) for a tunnel device; (None, None) for other devices."""
    link = links.get(name)
    if not link or not link['kind']:
        return None, None
    words = link['detail'].split()
    dev = word_after(words, 'dev')
    if dev:
        return dev.split('@', 1)[0], '%s is a %s tunnel over %s' % (name, link['kind'], dev)
    local = word_after(words, 'local')
    if local and local != 'any':
        for a in addresses:
            if a['address'] == local:
                return a['ifname'], '%s is a %s tunnel from %s (on %s)' % (name, link['kind'], local, a['ifname'])
        return None, '%s is a %s tunnel from %s, an address no interface holds' % (name, link['kind'], local)
    return None, '%s is a %s tunnel with no underlay device or local address: its underlay is not known' % (name, link['kind'])


def uplinks(queries, links, addresses):
    answers = []
    valid = []
    if not queries:
        return answers
    for q in queries:
        src, dst = str(q.get('src', '')), str(q.get('dst', ''))
        if not (is_ip(src) and is_ip(dst)):
            answers.append({'src': src, 'dst': dst, 'devices': [], 'reason': 'not an IP address pair'})
        else:
            answers.append(None)
            valid.append((len(answers) - 1, src, dst))
    # 1. The pod-facing device: where this node routes the pod's own address.
    srcs = sorted(set(s for _, s, _ in valid))
    got = batch(['route get %s' % s for s in srcs], lambda i, l: route_answers(l, srcs[i]))
    iif = {}
    iif_notes = {}
    for s, (line, err) in zip(srcs, got):
        if err:
            iif[s] = (None, 'ip route get %s: %s' % (s, err))
            continue
        t = line.split()
        dev = word_after(t, 'dev')
        if t[0] in ('local', 'broadcast', 'multicast'):
            iif[s] = (None, '%s is a %s address of this node, not a pod behind a device' % (s, t[0]))
        elif not dev:
            iif[s] = (None, 'ip route get %s names no device: %s' % (s, line.strip()))
        else:
            iif[s] = (dev, None)
            via = word_after(t, 'via')
            if via:
                # Cilium routes local pods via cilium_host; elsewhere this is a pod on another node.
                iif_notes[s] = '%s is reached via %s on %s, not directly: is it a pod on this node?' % (s, via, dev)
    # 2. The forwarding decision for that pod's packet (policy rules included).
    fwd = [(k, s, d, iif[s][0]) for k, s, d in valid if iif[s][0]]
    got = batch(['route get %s from %s iif %s' % (d, s, dev) for _, s, d, dev in fwd],
                lambda i, l: route_answers(l, fwd[i][2]))
    decided = {k: (dev, ans) for (k, s, d, dev), ans in zip(fwd, got)}
    routes4 = multipath_routes(ip_text(['-4', '-o', 'route', 'show', 'table', 'all']), 4)
    routes6 = multipath_routes(ip_text(['-6', '-o', 'route', 'show', 'table', 'all']), 6)
    for k, src, dst in valid:
        ans = {'src': src, 'dst': dst, 'devices': []}
        answers[k] = ans
        if not iif[src][0]:
            ans['reason'] = iif[src][1]
            continue
        dev_in, (line, err) = decided[k]
        if err:
            ans['reason'] = 'ip route get %s from %s iif %s: %s' % (dst, src, dev_in, err)
            continue
        t = line.split()
        if t[0] in ('local', 'broadcast', 'multicast'):
            ans['reason'] = '%s is a %s address of this node: the packet does not leave it' % (dst, t[0])
            continue
        dev = word_after(t, 'dev')
        if not dev:
            ans['reason'] = 'ip route get %s from %s iif %s names no device: %s' % (dst, src, dev_in, line.strip())
            continue
        names, notes = [dev], [iif_notes[src]] if src in iif_notes else []
        table = word_after(t, 'table') or 'main'
        m = ecmp_peers(dst, table, dev, routes6 if ':' in dst else routes4)
        if m:
            for d in m['devs']:
                if d not in names:
                    names.append(d)
            notes.append('multipath route %s (table %s): nexthops via %s' % (m['text'], table, ', '.join(m['devs'])))
        for d in list(names):
            under, note = underlay_of(d, links, addresses)
            if note:
                notes.append(note)
            if under and under not in names:
                names.append(under)
        ans['devices'] = [{'name': n, 'ifindex': ifindex_of(n, links)} for n in names]
        if notes:
            ans['notes'] = notes
    return answers


# ----------------------------------------------------------------- capture

LISTEN_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def capture_paths(run, pod):
    base = os.path.join(os.environ.get('TMPDIR') or '/tmp', 'podwire-cap-%s-%s' % (run, pod))
    return base + '.pcap', base + '.log', base + '.pid'


def alive(pid):
    """True while pid runs; a zombie (exited, not reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
        return stat[stat.rindex(')') + 2] != 'Z'
    except (OSError, ValueError, IndexError):
        return False


def capture_start(spec, run, pod):
    """tcpdump on all interfaces, detached (it outlives this exec), once it says it is listening."""
    pcap, log, pidfile = capture_paths(run, pod)
    argv = ['tcpdump', '-i', str(spec.get('iface', 'any')), '-n', '--immediate-mode', '-U',
            '-B', str(int(spec.get('bufferKiB', 8192))), '-s', str(int(spec.get('snaplen', 2048)))]
    if spec.get('maxPackets'):
        argv += ['-c', str(int(spec['maxPackets']))]
    argv += ['-w', pcap]
    if spec.get('filter'):
        argv.append(str(spec['filter']))
    with open(log, 'wb') as out:
        # --immediate-mode: libpcap hands packets over as they arrive (a stop would drop a pending ring block); -U writes each at once.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    # The listener of this pod ends the capture when the pod is deleted (an interrupted run never read it).
    with open(pidfile, 'w') as f:
        f.write('%d\n' % proc.pid)
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while time.monotonic() < deadline:
        with open(log, 'rb') as f:
            text = f.read()
        if b'listening on' in text:
            return {'pid': proc.pid, 'pcap': pcap, 'log': log}
        if proc.poll() is not None:
            raise RuntimeError('tcpdump exited %d: %s' % (proc.returncode, ' | '.join(text.decode('utf-8', 'replace').split('\n')[-3:]).strip()))
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError('tcpdump did not start listening in %d s' % LISTEN_TIMEOUT_S)


def tcpdump_stats(text):
    stats = {}
    for key, word in (('captured', 'captured'), ('receivedByFilter', 'received by filter'), ('droppedByKernel', 'dropped by kernel')):
        for line in text.splitlines():
            parts = line.strip().split(' ', 1)
            if len(parts) == 2 and parts[0].isdigit() and parts[1].split(' ', 1)[-1].startswith(word):
                stats[key] = int(parts[0])
    return stats


def capture_handle(args):
    c = args.get('capture')
    if not isinstance(c, dict) or not isinstance(c.get('pid'), int) or not isinstance(c.get('pcap'), str) or not isinstance(c.get('log'), str):
        raise UsageError('capture must be {pid, pcap, log}')
    for path in (c['pcap'], c['log']):
        if not os.path.basename(path).startswith('podwire-cap-'):
            raise UsageError('capture file %r is not a podwire capture' % path)
    return c


def capture_stop(c):
    """SIGINT makes tcpdump write what it holds and its counters; SIGKILL if it will not go."""
    try:
        os.kill(c['pid'], signal.SIGINT)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while alive(c['pid']) and time.monotonic() < deadline:
        time.sleep(0.01)
    if alive(c['pid']):
        os.kill(c['pid'], signal.SIGKILL)


def capture_remove(c):
    for path in (c['pcap'], c['log'], c['pcap'][:-len('.pcap')] + '.pid'):
        try:
            os.unlink(path)
        except OSError:
            pass


def capture_finish(c):
    """Stops the capture and writes its header line and bytes to stdout; removes its files."""
    capture_stop(c)
    try:
        with open(c['log'], 'rb') as f:
            stats = tcpdump_stats(f.read().decode('utf-8', 'replace'))
        with open(c['pcap'], 'rb') as f:
            data = f.read()
    except OSError as e:
        emit({'capture': {'error': '%s: %s' % (type(e).__name__, e)}})
        return
    finally:
        capture_remove(c)
    header = {'capture': {'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest(), 'stats': stats}}
    with _out_lock:
        sys.stdout.write(json.dumps(header, separators=(',', ':'), sort_keys=True) + '\n')
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def end_capture(run, pod):
    """The pod goes: a capture of its run that is still running is ended, its files removed."""
    pcap, log, pidfile = capture_paths(run, pod)
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass
    capture_remove({'pcap': pcap, 'log': log})


def stop_mode(args):
    c = capture_handle(args)
    capture_stop(c)
    capture_remove(c)
    return 0


# ----------------------------------------------------------------- node snapshot

SNAPSHOT_MAX = 65536
MAX_LINKS = 2000
# kube-proxy's per-Service chains: thousands of lines on a big cluster, and no
# part of pod-to-pod forwarding or masquerade.
SERVICE_CHAINS = ('KUBE-SVC-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-XLB-', 'KUBE-EXT-', 'KUBE-SVL-', 'KUBE-SERVICES')


def tool(name):
    return shutil.which(name) or next((p for p in ('/usr/sbin/' + name, '/sbin/' + name) if os.path.exists(p)), None)


def bounded(text):
    """(text, omitted): per-Service chain lines left out, then cut at SNAPSHOT_MAX characters."""
    kept, dropped = [], 0
    for line in text.splitlines():
        words = line.split()
        chain = words[1] if len(words) > 1 and words[0] == '-A' else (line[1:].split(' ', 1)[0] if line.startswith(':') else '')
        if chain.startswith(SERVICE_CHAINS) or (len(words) > 1 and words[0] == 'chain' and words[1].startswith(SERVICE_CHAINS)):
            dropped += 1
            continue
        kept.append(line)
    out = '\n'.join(kept) + ('\n' if kept else '')
    omitted = []
    if dropped:
        omitted.append('%d lines of kube-proxy per-Service chains' % dropped)
    if len(out) > SNAPSHOT_MAX:
        omitted.append('%d characters beyond %d' % (len(out) - SNAPSHOT_MAX, SNAPSHOT_MAX))
        out = out[:SNAPSHOT_MAX]
    return out, '; '.join(omitted)


def snapshot(argv):
    """One command of the node snapshot: output, or why there is none. Never raises."""
    entry = {'command': ' '.join(argv)}
    path = tool(argv[0])
    if not path:
        entry['error'] = '%s is not installed in the probe image' % argv[0]
        return entry
    try:
        p = subprocess.run([path] + argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        entry['error'] = ' '.join(str(e).split())[:300]
        return entry
    if p.returncode != 0:
        entry['error'] = ('exit %d: %s' % (p.returncode, ' '.join(p.stderr.split())))[:300]
        return entry
    entry['output'], omitted = bounded(p.stdout)
    if omitted:
        entry['omitted'] = omitted
    return entry


def firewall_snapshot(ipv6=False):
    """The node's nat and filter tables: iptables-save (nf_tables or legacy, as the node's tools are), ip6tables-save
    on a node with a global IPv6 address, and nft's ruleset where nft exists."""
    out = [snapshot(['iptables-save', '-t', 'nat']), snapshot(['iptables-save', '-t', 'filter'])]
    if ipv6:
        out += [snapshot(['ip6tables-save', '-t', 'nat']), snapshot(['ip6tables-save', '-t', 'filter'])]
    # iptables-nft says so when the node's rules were written by the legacy backend (an older kube-proxy or CNI).
    if any('iptables-legacy tables present' in e.get('output', '') for e in out) and tool('iptables-legacy-save'):
        out += [snapshot(['iptables-legacy-save', '-t', 'nat']), snapshot(['iptables-legacy-save', '-t', 'filter'])]
    if tool('nft') or all('output' not in e for e in out):
        out.append(snapshot(['nft', 'list', 'ruleset']))
    return out


def link_list(links):
    out = []
    for name, l in sorted(links.items(), key=lambda kv: kv[1]['ifindex'])[:MAX_LINKS]:
        e = {'name': name, 'ifindex': l['ifindex']}
        if l['mtu']:
            e['mtu'] = l['mtu']
        if l['kind']:
            e['kind'] = l['kind']
        out.append(e)
    return out


# ----------------------------------------------------------------- inventory

def inventory_mode(args):
    run = safe_name(str(args.get('run', '')), 'run')
    pod = safe_name(str(args.get('pod', '')), 'pod')
    role = args.get('role')
    if role not in ('pod', 'host'):
        raise UsageError("role must be 'pod' or 'host'")
    wait_ms = int(args.get('portWaitMs', 5000))
    link_text = ip_text(['-d', '-o', 'link', 'show'])
    links = parse_links(link_text)
    addr_text = ip_text(['-o', 'addr', 'show'])
    if not addr_text:
        rc, _, err = run_ip(['-o', 'addr', 'show'])
        raise RuntimeError('ip -o addr show failed: %s' % ' '.join(err.split()))
    addresses = parse_addresses(addr_text)
    inv = {
        'addresses': addresses,
        'addrText': addr_text,
        'routes': ip_text(['-4', 'route', 'show', 'table', 'all']) + ip_text(['-6', 'route', 'show', 'table', 'all']),
        'rules': ip_text(['-4', 'rule', 'show']) + ip_text(['-6', 'rule', 'show']),
        'uplinks': uplinks(args.get('uplinkQueries') or [], links, addresses),
        'links': link_list(links),
    }
    if role == 'host':
        inv['firewall'] = firewall_snapshot(any(a['family'] == 6 and a['scope'] == 'global' for a in addresses))
    if role == 'pod':
        mtu = None
        try:
            with open('/sys/class/net/eth0/mtu') as f:
                mtu = int(f.read().strip())
        except (OSError, ValueError):
            mtu = links.get('eth0', {}).get('mtu')
        if mtu:
            inv['mtu'] = mtu
    port, why = read_port(run, pod, wait_ms)
    if port:
        inv['port'] = port
        why = check_listener(port, pod)
    if why:
        inv['portError'] = why
    if isinstance(args.get('capture'), dict):
        try:
            inv['capture'] = capture_start(args['capture'], run, pod)
        except (OSError, RuntimeError) as e:
            inv['captureError'] = ' '.join(str(e).split())
    emit(inv)
    return 0


# ----------------------------------------------------------------- send

def elapsed_ms(t0):
    return int(round((time.monotonic() - t0) * 1000))


def os_errno(e):
    if isinstance(e, socket.timeout):
        return errno.ETIMEDOUT
    return e.errno or errno.EIO


def route_source(fam, dst, port):
    """The source address the kernel picks for dst (a connected UDP socket sends nothing)."""
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.connect((dst, port))
        return s.getsockname()[0]
    finally:
        s.close()


def tcp_attempt(fam, src, dst, port, payload, connect_s, reply_s):
    """(sport, errno, reply, answered-or-final)."""
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        sport = s.getsockname()[1]
        s.settimeout(connect_s)
        try:
            s.connect((dst, port))
        except (OSError, socket.timeout) as e:
            return sport, os_errno(e), b''
        try:
            s.settimeout(reply_s)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            buf = read_line(s, reply_s)
        except (OSError, socket.timeout) as e:
            return sport, os_errno(e), b''
        return sport, 0, buf
    finally:
        s.close()


def udp_wait(s, reply_s):
    """(errno, reply) of one wait for the answer on a connected UDP socket."""
    s.settimeout(reply_s)
    try:
        return 0, s.recv(65535)
    except socket.timeout:
        return 0, b''
    except OSError as e:
        return os_errno(e), b''  # e.g. ECONNREFUSED: an ICMP port unreachable came back


def first_line(buf):
    return buf.split(b'\n', 1)[0].strip().decode('utf-8', 'replace')


def send_flow(flow, connect_s, reply_s, held):
    t0 = time.monotonic()
    fid, token, proto, dst, port = flow['id'], flow['token'], flow['proto'], flow['dst'], flow['port']
    fam = family_of(dst)
    res = {'id': fid, 'src': '', 'sports': [], 'errno': 0, 'reply': '', 'retried': False}

    def done(err=0, reply=b''):
        res['errno'] = err
        if err:
            res['error'] = errno_name(err)
        res['reply'] = first_line(reply)
        if res['sports']:
            res['sport'] = res['sports'][0]
        res['ms'] = elapsed_ms(t0)
        return res

    try:
        res['src'] = route_source(fam, dst, port)
    except OSError as e:
        return done(os_errno(e))
    payload = token.encode() + b'\n'
    if flow.get('mtu'):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            if fam == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
            s.bind((res['src'], 0))
            res['sports'].append(s.getsockname()[1])
            s.connect((dst, port))
            # The MTU the kernel holds for this destination: a route's `mtu`
            # (Cilium puts the tunnel MTU there), a learnt path MTU, else the device's.
            mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU) if fam == socket.AF_INET else s.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU)
            size = min(mtu, MAX_IP_PACKET[fam])
            res['routeMtu'] = mtu
            res['size'] = size
            pad = size - IP_UDP_HEADERS[fam] - len(payload)
            if pad < 0:
                raise OSError(errno.EMSGSIZE, 'the token does not fit in %d bytes' % size)
            s.send(payload + b' ' * pad)
        except OSError as e:
            s.close()
            return done(os_errno(e))
        # Kept open (not waited on) until the other flows end: a receiver
        # that answers must not draw an ICMP port unreachable from a closed socket.
        held.append((s, res, time.monotonic()))
        return done()
    try:
        if proto == 'tcp':
            sport, err, reply = tcp_attempt(fam, res['src'], dst, port, payload, connect_s, reply_s)
            res['sports'].append(sport)
            if err == 0 and not first_line(reply):
                # A reply can be lost or late when every probe sends at once: one more try, on a new port.
                res['retried'] = True
                sport, err, reply = tcp_attempt(fam, res['src'], dst, port, payload, connect_s, reply_s)
                res['sports'].append(sport)
            return done(err, reply)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.bind((res['src'], 0))
            res['sports'].append(s.getsockname()[1])
            s.connect((dst, port))
            s.send(payload)
            err, reply = udp_wait(s, reply_s)
            if err == 0 and not first_line(reply):
                res['retried'] = True
                s.send(payload)
                err, reply = udp_wait(s, reply_s)
            return done(err, reply)
        finally:
            s.close()
    except OSError as e:
        return done(os_errno(e))


def check_flow(f, i):
    if not isinstance(f, dict):
        raise UsageError('flows[%d] is not an object' % i)
    for key, typ in (('id', str), ('token', str), ('proto', str), ('dst', str), ('port', int)):
        if not isinstance(f.get(key), typ):
            raise UsageError('flows[%d].%s is missing or not a %s' % (i, key, typ.__name__))
    if f['proto'] not in ('tcp', 'udp'):
        raise UsageError('flows[%d].proto %r is not tcp or udp' % (i, f['proto']))
    if not is_ip(f['dst']):
        raise UsageError('flows[%d].dst %r is not an IP address' % (i, f['dst']))
    if not 1 <= f['port'] <= 65535:
        raise UsageError('flows[%d].port %d is not a port' % (i, f['port']))
    if '\n' in f['token'] or not f['token']:
        raise UsageError('flows[%d].token must be one non-empty line' % i)


def send_mode(args):
    flows = args.get('flows')
    if not isinstance(flows, list):
        raise UsageError('flows must be a list')
    for i, f in enumerate(flows):
        check_flow(f, i)
    if len(set(f['id'] for f in flows)) != len(flows):
        raise UsageError('flow ids are not unique')
    capture = capture_handle(args) if 'capture' in args else None
    reply_s = float(args.get('replyWaitMs', 3000)) / 1000.0
    connect_s = float(args.get('connectTimeoutMs', 4000)) / 1000.0
    parallel = max(1, min(int(args.get('parallel', MAX_PARALLEL)), MAX_PARALLEL, len(flows) or 1))
    # Shallow threads: a small stack keeps 128 of them cheap (musl's default is smaller still).
    threading.stack_size(512 * 1024)
    held = []
    broken = []
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(send_flow, f, connect_s, reply_s, held): f for f in flows}
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as e:  # a bug, not a network answer: report it on the flow and fail the exec
                f = futures[fut]
                broken.append(f['id'])
                res = {'id': f['id'], 'src': '', 'sports': [], 'errno': errno.EIO, 'error': 'agent: %s: %s' % (type(e).__name__, e),
                       'reply': '', 'retried': False, 'ms': 0}
            if res.get('size') is None or res['errno']:
                emit(res)
    # MTU flows: a short grace for the receiver's answer when nothing else kept us busy, then drain and report.
    grace = min(reply_s, 1.0)
    for s, res, sent_at in held:
        left = sent_at + grace - time.monotonic()
        if left > 0:
            time.sleep(left)
        try:
            s.setblocking(False)
            res['reply'] = first_line(s.recv(65535))
        except OSError:
            pass
        s.close()
        emit(res)
    if 'capture' in args:
        # Every probe's capture must run until every probe is done sending: the collector says so with one line.
        emit({'done': True})
        sys.stdin.buffer.readline()
        capture_finish(capture)
    if broken:
        sys.stderr.write('podwire-agent send: internal error on %d flow(s), first %s\n' % (len(broken), broken[0]))
        return 3
    return 0


# ----------------------------------------------------------------- main

def read_args(raw):
    if raw is None:
        raw = sys.stdin.buffer.read()
    try:
        args = json.loads(raw.decode('utf-8') if isinstance(raw, bytes) else raw)
    except ValueError as e:
        raise UsageError('arguments are not JSON: %s' % e)
    if not isinstance(args, dict):
        raise UsageError('arguments must be a JSON object')
    return args


def main(argv, raw_args=None):
    mode = argv[0] if argv else ''
    try:
        if mode == 'listen':
            return listen_mode()
        if mode == 'inventory':
            return inventory_mode(read_args(raw_args))
        if mode == 'send':
            return send_mode(read_args(raw_args))
        if mode == 'stop':
            return stop_mode(read_args(raw_args))
        raise UsageError('mode must be listen, inventory, send or stop, not %r' % mode)
    except UsageError as e:
        sys.stderr.write('podwire-agent %s: %s\n' % (mode, e))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        sys.stderr.write('podwire-agent %s: %s: %s\n' % (mode, type(e).__name__, ' '.join(str(e).split())))
        return 3


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], globals().get('PODWIRE_ARGS')))
