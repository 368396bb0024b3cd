#!/usr/bin/python3
"""A strict local S3 endpoint for tests: OpenStack Swift with the s3api middleware, on loopback, from a temp directory.

    swift_s3_server.py DIR      writes configs and rings under DIR, starts the account, container, object and proxy
                                servers, prints "READY <proxy port>" once the S3 endpoint answers, and runs until it
                                gets SIGTERM/SIGINT or its stdin closes; then it stops every server and exits.
    swift_s3_server.py --serve CONF SECTION [OBJECT]   (internal) runs one server with DIR as its swift_dir.

Users (tempauth; the S3 access key is "account:user"):
    test:tester / testing   admin of account AUTH_test: may create buckets and write
    test:reader / reading   not an admin: every write is AccessDenied; reads only in a bucket the admin created with
                            the canned ACL public-read (s3api maps it to X-Container-Read: .r:*,.rlistings)

Facts behind the settings: /work/shared/reference/s3-test-peer.md (Swift 2.30 on Debian 12).
"""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SERVERS = ("account", "container", "object", "proxy")


def serve(conf_path, section, is_object):
    # Swift reads swift.conf from a hard-coded /etc/swift unless told otherwise, before anything else loads.
    from swift.common import constraints, storage_policy, utils, wsgi
    utils.set_swift_dir(os.path.dirname(conf_path))
    storage_policy.reload_storage_policies()
    constraints.reload_constraints()
    kwargs = {"verbose": True}
    if is_object:
        import swift.obj.server
        kwargs["global_conf_callback"] = swift.obj.server.global_conf_callback
    sys.exit(wsgi.run_wsgi(conf_path, section, **kwargs))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def configure(root, ports):
    user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
    devices = os.path.join(root, "srv")
    os.makedirs(os.path.join(devices, "d1"), exist_ok=True)
    os.makedirs(os.path.join(root, "run"), exist_ok=True)
    write(os.path.join(root, "swift.conf"),
          "[swift-hash]\nswift_hash_path_suffix = backhaul-tests\nswift_hash_path_prefix = backhaul\n\n"
          "[storage-policy:0]\nname = gold\ndefault = yes\n")
    # No syslog here: a socket path that does not exist makes Swift log to the console handler only.
    common = ("[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = {workers}\nuser = " + user +
              "\nswift_dir = " + root + "\ndevices = " + devices + "\nmount_check = false\n"
              "disable_fallocate = true\nlog_address = " + os.path.join(root, "no-syslog") +
              "\nlog_level = WARNING\n\n")
    write(os.path.join(root, "account.conf"), common.format(port=ports["account"], workers=1) +
          "[pipeline:main]\npipeline = account-server\n\n[app:account-server]\nuse = egg:swift#account\n")
    write(os.path.join(root, "container.conf"), common.format(port=ports["container"], workers=1) +
          "[pipeline:main]\npipeline = container-server\n\n[app:container-server]\nuse = egg:swift#container\n")
    write(os.path.join(root, "object.conf"), common.format(port=ports["object"], workers=1) +
          "[pipeline:main]\npipeline = object-server\n\n[app:object-server]\nuse = egg:swift#object\n"
          "container_update_timeout = 10\n")
    write(os.path.join(root, "proxy.conf"), common.format(port=ports["proxy"], workers=2) +
          "[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api "
          "tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server\n\n"
          "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n"
          "[filter:catch_errors]\nuse = egg:swift#catch_errors\n\n"
          "[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n\n"
          "[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n"
          "[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n\n"
          "[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:" + str(ports["memcache"]) + "\n\n"
          "[filter:listing_formats]\nuse = egg:swift#listing_formats\n\n"
          "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\ndns_compliant_bucket_names = true\n"
          # Virtual-host requests (<bucket>.localhost:PORT) name the bucket in Host; 127.0.0.1 stays path-style.
          "storage_domain = localhost\n"
          "s3_acl = false\nallowable_clock_skew = 900\nmin_segment_size = 5242880\nmax_upload_part_num = 10000\n"
          "max_multi_delete_objects = 1000\n\n"
          "[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n"
          "user_test_reader = reading\n\n"
          "[filter:copy]\nuse = egg:swift#copy\n\n"
          "[filter:slo]\nuse = egg:swift#slo\nmax_manifest_segments = 10000\n\n"
          "[filter:dlo]\nuse = egg:swift#dlo\n\n"
          "[filter:versioned_writes]\nuse = egg:swift#versioned_writes\n\n"
          "[filter:symlink]\nuse = egg:swift#symlink\n")
    # All three rings in this one process: each ring-builder CLI run costs an interpreter start.
    from swift.common.ring import RingBuilder
    for name in ("account", "container", "object"):
        builder = RingBuilder(6, 1, 1)
        builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": ports[name], "device": "d1",
                         "weight": 100, "meta": ""})
        builder.rebalance()
        builder.get_ring().save(os.path.join(root, name + ".ring.gz"))


def wait_ready(port, servers, deadline):
    url = "http://127.0.0.1:%d/healthcheck" % port
    while time.time() < deadline:
        for name, proc in servers.items():
            if proc.poll() is not None:
                raise RuntimeError("%s server exited with status %d" % (name, proc.returncode))
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the S3 endpoint did not answer within the deadline")


def main(root):
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    ports = {name: free_port() for name in SERVERS + ("memcache",)}
    configure(root, ports)
    servers = {}
    stopping = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name in SERVERS:
            section = name + "-server"
            log = open(os.path.join(root, name + ".log"), "ab")
            args = [sys.executable, os.path.abspath(__file__), "--serve", os.path.join(root, name + ".conf"), section]
            if name == "object":
                args.append("object")
            # Each server in its own process group: stopping one group stops its workers too.
            servers[name] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True)
        wait_ready(ports["proxy"], servers, time.time() + 60)
        print("READY %d" % ports["proxy"], flush=True)
        # Until told to stop: a signal, or the parent closing our stdin (it died).
        import select
        while not stopping:
            readable, _, _ = select.select([sys.stdin], [], [], 0.2)
            if readable and not os.read(sys.stdin.fileno(), 4096):
                break
    except Exception as e:  # noqa: BLE001 - report any start-up failure as one line for the test log
        print("FAILED %s" % e, flush=True)
        return_code = 1
    else:
        return_code = 0
    finally:
        for proc in servers.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 5
        for proc in servers.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
    return return_code


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], len(sys.argv) > 4)
    elif len(sys.argv) == 2:
        sys.exit(main(sys.argv[1]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
