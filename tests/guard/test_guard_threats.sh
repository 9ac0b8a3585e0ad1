#!/bin/bash
# The threat matrix (§3.1) and the parser-differential table (§3.2) of the guard's design
# brief, each row against a real dockerd with two tenants on it: tenant alpha owns a running
# container, a volume, a network, an image and an exec; tenant bravo attacks through its own
# guard. Every refused request is followed by a look at the daemon itself (raw socket) to show
# that nothing changed.
. "$SRCDIR/tests/lib/tap.sh"
. "$SRCDIR/tests/lib/dockerd.sh"
. "$SRCDIR/tests/guard/lib.sh"

guard_suite_start
d tag tiny:1 node:18
NODE_ID=$(d image inspect -f '{{.Id}}' node:18)
start_guard a alpha || exit 1
start_guard b bravo || exit 1

# alpha's objects
g a run -d --name alpha-web -v alpha-data:/data tiny:1 sleep 600 >/dev/null
g a network create alpha-net >/dev/null
mkdir -p "$TMP/ctx"
printf 'FROM tiny:1\nRUN echo alpha > /who\n' >"$TMP/ctx/Dockerfile"
DOCKER_BUILDKIT=0 g a build -q -t alpha/app:1 "$TMP/ctx" >/dev/null 2>&1
req a POST /v1.41/containers/alpha-web/exec '{"Cmd":["true"]}'
A_EXEC=$(printf '%s' "$RB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
A_ID=$(d inspect -f '{{.Id}}' alpha-web)
check "setup: alpha's container runs with alpha's label" eq "$(d inspect -f '{{index .Config.Labels "io.deskrun.tenant"}} {{.State.Running}}' alpha-web)" "alpha true"
check "setup: alpha's image is labelled" eq "$(d image inspect -f '{{index .Config.Labels "io.deskrun.tenant"}}' alpha/app:1)" "alpha"

C=/v1.41/containers/create
create() { req b POST "$C${2-}" "$1"; }

# ---- §3.1 threats: create options (T01-T24) ----
create '{"Image":"tiny:1","HostConfig":{"Privileged":true}}'; expect "T01 Privileged is refused" 403 "HostConfig.Privileged"
create '{"Image":"tiny:1","HostConfig":{"Binds":["/:/host"]}}'; expect "T02 bind of / is refused" 403 "host bind mounts"
create '{"Image":"tiny:1","HostConfig":{"Binds":["/var/run/docker.sock:/var/run/docker.sock"]}}'; expect "T03 bind of docker.sock is refused" 403 "Binds"
create '{"Image":"tiny:1","HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}}'; expect "T04 Mounts bind of /etc is refused" 403 "Mounts"
for o in '"type":"ext4","device":"/dev/sda1"' '"type":"none","o":"bind","device":"/"' '"type":"nfs","o":"addr=1.2.3.4"'; do
	req b POST /v1.41/volumes/create "{\"Name\":\"bravo-x\",\"DriverOpts\":{$o}}"; expect "T06 volume DriverOpts {$o} is refused" 403 "DriverOpts"
done
check "T06 ... and no such volume exists" eq "$(d volume ls -q --filter name=bravo-x)" ""
create '{"Image":"tiny:1","HostConfig":{"Binds":["alpha-data:/d"]}}'; expect "T07 another tenant's volume in Binds is refused" 403 "volume not owned"
create '{"Image":"tiny:1","HostConfig":{"Mounts":[{"Type":"volume","Source":"alpha-data","Target":"/d"}]}}'; expect "T07 another tenant's volume in Mounts is refused" 403 "volume not owned"
create '{"Image":"tiny:1","HostConfig":{"VolumesFrom":["alpha-web"]}}'; expect "T09 VolumesFrom another tenant's container answers like a missing one" 404 "No such container: alpha-web"
create '{"Image":"tiny:1","HostConfig":{"PidMode":"host"}}'; expect "T10 PidMode host is refused" 403 "PidMode"
create '{"Image":"tiny:1","HostConfig":{"PidMode":"container:alpha-web"}}'; expect "T10 PidMode container:<other tenant> is refused" 404 "No such container"
create '{"Image":"tiny:1","HostConfig":{"NetworkMode":"host"}}'; expect "T11 NetworkMode host is refused" 403 "host network"
create '{"Image":"tiny:1","HostConfig":{"NetworkMode":"container:alpha-web"}}'; expect "T11 NetworkMode container:<other tenant> is refused" 404 "No such container"
for m in IpcMode UTSMode UsernsMode CgroupnsMode; do
	create "{\"Image\":\"tiny:1\",\"HostConfig\":{\"$m\":\"host\"}}"; expect "T12 $m host is refused" 403 "$m"
done
for cap in SYS_ADMIN ALL 'cap_\u017fys_adm\u0131n' CAP_SYS_PTRACE; do
	create "{\"Image\":\"tiny:1\",\"HostConfig\":{\"CapAdd\":[\"$cap\"]}}"; expect "T13 CapAdd $cap is refused" 403 "CapAdd"
done
create '{"Image":"tiny:1","HostConfig":{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}}'; expect "T14 Devices is refused" 403 "Devices"
create '{"Image":"tiny:1","HostConfig":{"DeviceCgroupRules":["b *:* rwm"]}}'; expect "T14 DeviceCgroupRules is refused" 403 "DeviceCgroupRules"
create '{"Image":"tiny:1","HostConfig":{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}}'; expect "T14 DeviceRequests is refused" 403 "DeviceRequests"
for so in seccomp=unconfined seccomp:unconfined apparmor=unconfined label=disable writable-cgroups=true; do
	create "{\"Image\":\"tiny:1\",\"HostConfig\":{\"SecurityOpt\":[\"$so\"]}}"; expect "T15 SecurityOpt $so is refused" 403 "SecurityOpt"
done
create '{"Image":"tiny:1","HostConfig":{"MaskedPaths":[]}}'; expect "T16 MaskedPaths [] is refused" 403 "MaskedPaths"
create '{"Image":"tiny:1","HostConfig":{"ReadonlyPaths":[]}}'; expect "T16 ReadonlyPaths [] is refused" 403 "ReadonlyPaths"
create '{"Image":"tiny:1","HostConfig":{"CgroupParent":"/"}}'; expect "T17 CgroupParent / is refused" 403 "CgroupParent"
create '{"Image":"tiny:1","HostConfig":{"Sysctls":{"kernel.shmmax":"1"}}}'; expect "T18 Sysctls is refused" 403 "Sysctls"
create '{"Image":"tiny:1","HostConfig":{"Runtime":"nvidia"}}'; expect "T18 Runtime nvidia is refused" 403 "Runtime"
create '{"Image":"tiny:1","HostConfig":{"Annotations":{"x":"y"}}}'; expect "T18 Annotations is refused" 403 "Annotations"
create '{"Image":"tiny:1","NetworkingConfig":{"EndpointsConfig":{"alpha-net":{}}}}'; expect "T21 joining another tenant's network answers like a missing one" 404 "network alpha-net not found"
create '{"Image":"tiny:1","Labels":{"io.deskrun.tenant":"alpha"}}'; expect "T22 setting the owner label is refused" 403 "io.deskrun"
create '{"Image":"tiny:1","Labels":{"a":"b"},"labels":{"io.deskrun.tenant":"alpha"}}'; expect "T22 a case-variant duplicate Labels is refused" 400 "duplicate key"
create '{"Image":"tiny:1"}' '?name=alpha-db'; expect "T23 a name in another tenant's prefix is refused" 403 "another tenant"
create '{"Image":"tiny:1","HostConfig":{"RestartPolicy":{"Name":"always"}}}'; expect "T24 RestartPolicy always is refused" 403 "RestartPolicy"
create '{"Image":"tiny:1","HostConfig":{"OomScoreAdj":-1000}}'; expect "T24 OomScoreAdj -1000 is refused" 403 "OomScoreAdj"
create '{"Image":"tiny:1","HostConfig":{"PidsLimit":-1}}'; expect "T24 PidsLimit -1 is refused" 403 "PidsLimit"
create '{"Image":"tiny:1","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}}}'; expect "T24 publishing on 0.0.0.0 is refused" 403 "PortBindings"
check "T01-T24: bravo created no container at all" eq "$(d ps -aq --filter label=io.deskrun.tenant=bravo)" ""
check "T01-T24: no privileged container exists" eq "$(d ps -aq | xargs -r docker -H "unix://$RAW" inspect -f '{{.HostConfig.Privileged}}' | grep -c true)" "0"

# ---- T25-T30: another tenant's container and exec ----
req b GET /v1.41/containers/alpha-web/json; expect "T25 inspect of another tenant's container is 404" 404 "No such container: alpha-web"
req b GET "/v1.41/containers/$A_ID/json"; expect "T25 ... also by full ID" 404 "No such container"
for a in exec start stop kill restart pause update 'rename?name=bravo-x'; do
	body=; [ "$a" = exec ] && body='{"Cmd":["sh"]}'; [ "$a" = update ] && body='{}'
	if [ -n "$body" ]; then req b POST "/v1.41/containers/alpha-web/$a" "$body"; else req b POST "/v1.41/containers/alpha-web/$a"; fi
	expect "T26 POST $a on another tenant's container is 404" 404 "No such container"
done
req b DELETE '/v1.41/containers/alpha-web?force=1'; expect "T26 DELETE of another tenant's container is 404" 404 "No such container"
for p in logs?stdout=1 export 'archive?path=/'; do
	req b GET "/v1.41/containers/alpha-web/$p"; expect "T27 GET $p of another tenant's container is 404" 404 "No such container"
done
req b PUT '/v1.41/containers/alpha-web/archive?path=/tmp' 'x' -H 'Content-Type: application/x-tar'; expect "T27 PUT archive into another tenant's container is 404" 404 "No such container"
req b POST '/v1.41/containers/alpha-web/attach?stream=1&stdout=1' -H 'Upgrade: tcp' -H 'Connection: Upgrade'; expect "T28 attach to another tenant's container is 404" 404 "No such container"
req b GET '/v1.41/containers/alpha-web/attach/ws?stream=1'; expect "T28 attach/ws is 404" 404 "No such container"
req b POST "/v1.41/exec/$A_EXEC/start" '{"Detach":false}'; expect "T29 starting another tenant's exec is 404" 404 "No such exec instance"
req b POST "/v1.41/exec/$A_EXEC/resize?h=1&w=1"; expect "T29 resizing another tenant's exec is 404" 404 "No such exec instance"
req b GET "/v1.41/exec/$A_EXEC/json"; expect "T29 inspecting another tenant's exec is 404" 404 "No such exec instance"
check "T25-T29: alpha's container still runs, unchanged" eq "$(d inspect -f '{{.State.Running}} {{.State.Paused}} {{.Name}}' alpha-web)" "true false /alpha-web"
g b run -d --name bravo-own tiny:1 sleep 600 >/dev/null
req b POST /v1.41/containers/bravo-own/exec '{"Privileged":true,"Cmd":["sh"]}'; expect "T30 privileged exec in an own container is refused" 403 "Privileged"

# ---- T31-T33: lists, events, prunes ----
req b GET '/v1.41/containers/json?all=1'; check "T31 bravo's list has no alpha container" lacks "$RB" "alpha-web"
check "T31 ... and shows its own" contains "$RB" "bravo-own"
F='{"label":{"io.deskrun.tenant=alpha":true},"label":{}}'
req b GET "/v1.41/containers/json?all=1&filters=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$F")"; expect "T31 duplicate keys in filters are refused" 400 "filters"
req b GET '/v1.41/containers/json?all=1&filters=%7B%7D&filters=%7B%7D'; expect "T31 two filters parameters are refused" 400 "repeated"
req b GET '/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.deskrun.tenant%3Dalpha%22%5D%7D'; check "T31 asking for alpha's label still shows nothing of alpha" lacks "$RB" "alpha-web"
req b GET /v1.41/containers/json 'all=1' -H 'Content-Type: application/x-www-form-urlencoded'; expect "T31 a form body is refused" 400
# until with nanoseconds: the daemon reads a whole second as that second's start, and on a fast
# machine bravo-own was created less than a second ago.
req b GET "/v1.41/events?since=0&until=$(date +%s.%N)"; check "T32 bravo's events show nothing of alpha" lacks "$RB" "alpha"
check "T32 ... but show its own" contains "$RB" "bravo-own"
g b stop -t 0 bravo-own >/dev/null
d stop -t 0 alpha-web >/dev/null
for p in containers volumes networks images; do g b "${p%s}" prune -f >/dev/null 2>&1; done
check "T33 prunes through bravo leave alpha's stopped container" eq "$(d ps -aq --filter name=alpha-web | wc -l)" "1"
check "T33 ... alpha's volume, network and image" bash -c 'docker -H "unix://$0" volume inspect alpha-data >/dev/null && docker -H "unix://$0" network inspect alpha-net >/dev/null && docker -H "unix://$0" image inspect alpha/app:1 >/dev/null' "$RAW"
check "T33 ... while bravo's own stopped container is gone" eq "$(d ps -aq --filter name=bravo-own)" ""
req b POST /v1.41/build/prune; expect "T33 build cache prune is scoped to nothing (the cache is shared)" 200 '"SpaceReclaimed":0'
d start alpha-web >/dev/null

# ---- T34-T38: images ----
req b POST '/v1.41/images/tiny:1/tag?repo=node&tag=18'; expect "T34 tagging over a shared tag is refused" 403 "namespace"
req b POST '/v1.41/images/tiny:1/tag' 'repo=node&tag=18' -H 'Content-Type: application/x-www-form-urlencoded'; expect "T34 ... also as a form body" 400 "form"
req b POST '/v1.41/build?t=node:18' 'x' -H 'Content-Type: application/x-tar'; expect "T35 build -t node:18 is refused before the context is read" 403 "namespace"
req b POST '/v1.41/build?t=alpha/app:1' 'x' -H 'Content-Type: application/x-tar'; expect "T35 build -t into another tenant's namespace is refused" 403 "namespace"
req b POST /v1.41/images/load 'x' -H 'Content-Type: application/x-tar'; expect "T36 docker load is refused" 403 "load"
req b DELETE '/v1.41/images/node:18?force=1'; expect "T37 removing a shared image is refused" 403 "shared images"
check "T34-T37: node:18 still has its image" eq "$(d image inspect -f '{{.Id}}' node:18)" "$NODE_ID"
req b POST /v1.41/images/alpha/app:1/push; expect "T38 pushing another tenant's image answers like a missing one" 404 "No such image"
req b GET '/v1.41/images/get?names=alpha%2Fapp%3A1'; expect "T38 saving another tenant's image is 404" 404 "No such image"
req b GET /v1.41/images/alpha/app:1/get; expect "T38 ... also by path" 404 "No such image"
req b GET /v1.41/images/alpha%2Fapp:1/json; expect "T38 ... and inspect, %2F-encoded" 404 "No such image"
req b POST '/v1.41/commit?container=alpha-web&repo=bravo/x'; expect "T38 committing another tenant's container is 404" 404 "No such container"
req b DELETE /v1.41/images/alpha/app:1; expect "T38 removing another tenant's image is 404" 404
check "T38: alpha/app:1 still exists" bash -c 'docker -H "unix://$0" image inspect alpha/app:1 >/dev/null' "$RAW"

# ---- T40-T48 ----
req b POST '/v1.41/build?remote=http://169.254.169.254/latest/meta-data/'; expect "T40 build remote is refused" 403 "remote"
req b POST '/v1.41/build?networkmode=host&t=bravo/x' 'x' -H 'Content-Type: application/x-tar'; expect "T40 build networkmode=host is refused" 403 "networkmode"
req b POST '/v1.41/build?cgroupparent=/&t=bravo/x' 'x' -H 'Content-Type: application/x-tar'; expect "T40 build cgroupparent is refused" 403 "cgroupparent"
# BuildKit is on by default (read and checked: test_guard_buildkit.sh); "buildkit": false
# turns it off for a tenant
echo '{"buildkit": false}' >"$TMP/nobk.json"
start_guard nb bravo --policy "$TMP/nobk.json" || exit 1
req nb POST /v1.41/grpc -H 'Upgrade: h2c' -H 'Connection: Upgrade'; expect "T41 with \"buildkit\": false, /grpc (BuildKit) is refused" 403 'BuildKit is off for this tenant (its policy says \"buildkit\": false)'
req nb POST /v1.41/session -H 'Upgrade: h2c' -H 'Connection: Upgrade' -H 'X-Docker-Expose-Session-Uuid: t41'; expect "T41 ... and /session" 403 "BuildKit is off"
req nb POST '/v1.41/build?version=2&remote=client-session&session=t41&t=bravo/x:1'; expect "T41 ... and /build?version=2" 403 "BuildKit is off for this tenant"
req b POST /v1.41/session -H 'Upgrade: h2c' -H 'Connection: Upgrade'; expect "T41 by default /session is served, and still needs its session header" 400 "X-Docker-Expose-Session-Uuid header is missing"
g b network create bravo-net >/dev/null
req b POST /v1.41/networks/bravo-net/connect '{"Container":"alpha-web"}'; expect "T44 pulling another tenant's container onto an own network is 404" 404 "No such container"
req b POST /v1.41/networks/alpha-net/connect '{"Container":"bravo-own"}'; expect "T44 connecting to another tenant's network is 404" 404 "network alpha-net not found"
req b POST /v1.41/networks/alpha-net/disconnect '{"Container":"alpha-web"}'; expect "T44 disconnect on another tenant's network is 404" 404
req b DELETE /v1.41/networks/alpha-net; expect "T44 removing another tenant's network is 404" 404
for p in 'plugins/pull?remote=evil/p' plugins/create plugins/x/set plugins/x/enable; do
	req b POST "/v1.41/$p"; expect "T45 POST /$p is refused" 403 "plugins"
done
req b GET /v1.41/plugins/alpha-web/json; expect "T45 plugin inspect answers 404 like a missing plugin (docker inspect goes on to its next type)" 404 'plugin \"alpha-web\" not found'
req b GET /v1.41/plugins; expect "T45 the plugin list stays refused" 403 "plugins"
req b POST /v1.41/swarm/init '{"ListenAddr":"0.0.0.0:2377"}'; expect "T46 swarm init is refused" 403 "swarm"
req b POST /v1.41/swarm/join '{"RemoteAddrs":["1.2.3.4:2377"],"JoinToken":"x"}'; expect "T46 swarm join is refused" 403 "swarm"
req b POST /v1.41/services/create '{}'; expect "T46 services create is refused" 403
check "T46: the node is in no swarm" eq "$(d info -f '{{.Swarm.LocalNodeState}}')" "inactive"
req b GET /v1.41/system/df; check "T47 system df shows no alpha object" lacks "$RB" "alpha"
check "T47 ... but bravo's own network-free view still lists its image count" contains "$RB" '"Images":'
req b GET /v1.41/info; check "T47 info counts are redacted" contains "$RB" '"Containers":0'
check "T47 ... and DockerRootDir is blank" contains "$RB" '"DockerRootDir":""'
check "T47 ... the node's data directory appears nowhere in it" lacks "$RB" "\"$(d info -f '{{.DockerRootDir}}')\""
check "T47 ... nor in docker info through the guard" eq "$(g b info -f '[{{.DockerRootDir}}]' 2>&1)" "[]"
req b PUT /v1.41/volumes/alpha-data; expect "T48 PUT volumes (cluster) is refused" 403
req b DELETE /v1.41/volumes/alpha-data; expect "T48 removing another tenant's volume is 404" 404 "no such volume"
check "T40-T48: alpha's network and volume still exist, alpha-web still runs" bash -c 'docker -H "unix://$0" network inspect alpha-net >/dev/null && docker -H "unix://$0" volume inspect alpha-data >/dev/null && [ "$(docker -H "unix://$0" inspect -f "{{.State.Running}}" alpha-web)" = true ]' "$RAW"

# ---- T49: a network over the node's own addresses ----
# A bridge whose subnet overlaps the node's network (or the pods', the services') takes its
# routes on the node. IPAM.Config addresses need the policy's "subnets"; the tenant's subnet
# here is the network of the machine's own first global address, read with `ip -o addr`.
netof() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$1"; }
NODE4=$(ip -o -4 addr show scope global | awk '{print $4; exit}')
NODE6=$(ip -o -6 addr show scope global | awk '{print $4; exit}')
[ -n "$NODE4" ] || NODE4=127.0.0.1/8
NODE4_NET=$(netof "$NODE4")
NETS_BEFORE=$(d network ls -q --no-trunc | sort)
run g b network create --subnet "$NODE4_NET" bravo-hijack
check "T49 docker network create --subnet $NODE4_NET (the node's network) is refused" contains "$ERR" "IPAM.Config[0].Subnet \"$NODE4_NET\": subnets are chosen by the daemon unless the policy lists them (\"subnets\")"
if [ -n "$NODE6" ]; then
	NODE6_NET=$(netof "$NODE6")
	run g b network create --ipv6 --subnet "$NODE6_NET" bravo-hijack6
	check "T49 ... and --ipv6 --subnet $NODE6_NET (the node's IPv6 network)" contains "$ERR" "IPAM.Config[0].Subnet \"$NODE6_NET\": subnets are chosen"
else
	skip "T49 ... and the node's IPv6 network" "this machine has no global IPv6 address"
fi
req b POST /v1.41/networks/create "{\"Name\":\"bravo-hijack\",\"IPAM\":{\"Driver\":\"default\",\"Config\":[{\"Subnet\":\"$NODE4_NET\"}]}}"
expect "T49 raw HTTP: the same Subnet is refused" 403 "IPAM.Config[0].Subnet"
req b POST /v1.41/networks/create "{\"Name\":\"bravo-hijack\",\"ipam\":{\"config\":[{\"subnet\":\"$NODE4_NET\"}]}}"
expect "T49 raw HTTP: ... also with folded keys" 403 "IPAM.Config[0].Subnet"
req b POST /v1.41/networks/create "{\"Name\":\"bravo-hijack\",\"IPAM\":{\"Config\":[{\"AuxiliaryAddresses\":{\"gw\":\"${NODE4%/*}\"}}]}}"
expect "T49 raw HTTP: ... and an AuxiliaryAddresses entry alone" 403 "AuxiliaryAddresses"
check "T49: the daemon's network list is unchanged" eq "$(d network ls -q --no-trunc | sort)" "$NETS_BEFORE"
# With "subnets" in the policy: a subnet inside is created, the node's network still is not.
# The allowed /16 is one that overlaps no address, route or network of this machine.
FREE=$(python3 -c 'import ipaddress,subprocess,sys
used = [ipaddress.ip_interface(l.split()[3]).network for l in subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout.splitlines()]
used += [ipaddress.ip_network(l.split()[0]) for l in subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.splitlines() if l.split()[0][0].isdigit()]
used += [ipaddress.ip_network(s) for s in sys.argv[1:] if s and ":" not in s]
for c in ("10.201.0.0/16", "10.202.0.0/16", "172.29.0.0/16", "192.168.201.0/24"):
    if not any(ipaddress.ip_network(c).overlaps(u) for u in used):
        print(c); break' $(d network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' $(d network ls -q)))
printf '{"subnets":["%s"]}\n' "$FREE" >"$TMP/subnets.json"
start_guard bs bravo --policy "$TMP/subnets.json" || exit 1
SUB=$(python3 -c 'import ipaddress,sys; print(next(ipaddress.ip_network(sys.argv[1]).subnets(new_prefix=max(24, ipaddress.ip_network(sys.argv[1]).prefixlen + 1))))' "$FREE")
run g bs network create --subnet "$SUB" bravo-sub
check "T49 with \"subnets\": [\"$FREE\"] in the policy, --subnet $SUB is created" eq "$RC" 0
check "T49 ... with that subnet and bravo's label" eq "$(d network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{index .Labels "io.deskrun.tenant"}}' bravo-sub 2>&1)" "$SUB bravo"
run g bs network create --subnet "$NODE4_NET" bravo-hijack
check "T49 ... while the node's network is still refused, naming the allowed subnets" contains "$ERR" "IPAM.Config[0].Subnet \"$NODE4_NET\": outside the subnets the policy allows (\"subnets\": $FREE)"
req bs POST /v1.41/networks/create "{\"Name\":\"bravo-gw\",\"IPAM\":{\"Config\":[{\"Subnet\":\"$SUB\",\"Gateway\":\"${NODE4%/*}\"}]}}"
expect "T49 ... and so is a subnet inside with its Gateway on the node's address (raw HTTP)" 403 "IPAM.Config[0].Gateway"
check "T49 ... saying it is outside the allowed subnets" contains "$RB" "${NODE4%/*}\\\": outside the subnets the policy allows"
check "T49 ... and neither reached the daemon" eq "$(d network ls -q --filter name=bravo-hijack --filter name=bravo-gw)" ""
g bs network rm bravo-sub >/dev/null

# ---- §3.2 parser differentials (P01-P22) ----
for k in '"hostconfig":{"Privileged":true}' '"HOSTCONFIG":{"Privileged":true}' '"ho\u017ftconfig":{"Privileged":true}' '"HostConfig":{"Bind\u017f":["/:/h"]}' '"HostConfig":{"Networ\u212aMode":"host"}' '"HostConfig":{"\u0050rivileged":true}'; do
	create "{\"Image\":\"tiny:1\",$k}"; expect "P01 folded key {$k} is checked as the daemon reads it" 403
done
create '{"Image":"tiny:1","HostConfig":{"Privileged":true},"HostConfig":{"Binds":[]}}'; expect "P02 duplicate HostConfig is refused" 400 "duplicate"
create '{"Image":"tiny:1","Labels":{"o":"A"},"labels":{"o":"B"}}'; expect "P03 Labels/labels duplicate is refused" 400 "duplicate"
create '{"Image":"tiny:1","HostConfig":{}}{"HostConfig":{"Privileged":true}}'; expect "P04 trailing data is refused" 400
create '{"Image":"tiny:1","HostConfig":{"Privileged":1}}'; expect "P05 Privileged:1 is refused as the daemon would" 400
create '{"Image":"tiny:1","HostConfig":{"Privileged":"true"}}'; expect "P05 Privileged:\"true\" is refused" 400
req b POST $C '{"Image":"tiny:1","HostConfig":{"Privileged":true}}' -H 'Content-Type: Application/JSON; charset=UTF-8'; expect "P06 an odd-case Content-Type is still inspected" 403 "Privileged"
python3 -c 'import sys
a, b = b"{\"Image\":\"tiny:1\",\"HostCon", b"fig\":{\"Privileged\":true}}"
sys.stdout.buffer.write(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"%x\r\n" % len(a) + a + b"\r\n" + b"%x\r\n" % len(b) + b + b"\r\n0\r\n\r\n")' >"$TMP/chunked.req"
rawreq "$TMP/g-b.sock" raw - <"$TMP/chunked.req"
check "P07 a chunked create body is de-chunked and inspected" contains "$ST" "403"
rawreq "$TMP/g-b.sock" raw "POST $C HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
check "P08 Content-Length with Transfer-Encoding is refused" contains "$ST" "400"
for raw in "Content-Length: 2\r\nContent-Length: 3" "Content-Length: -1" "Transfer-Encoding: xchunked" "Transfer-Encoding: gzip, chunked"; do
	rawreq "$TMP/g-b.sock" raw "POST $C HTTP/1.1\r\nHost: d\r\n$raw\r\nConnection: close\r\n\r\n{}"
	check "P09 framing \"$raw\" is refused" contains "$ST" "400"
done
rawreq "$TMP/g-b.sock" raw "GET /_ping HTTP/1.1\nHost: d\n\n"; check "P09 bare LF is refused" contains "$ST" "400"
rawreq "$TMP/g-b.sock" raw "GET /_ping HTTP/1.1\r\nHost: d\r\nX-A: 1\r\n  folded\r\n\r\n"; check "P09 obs-fold is refused" contains "$ST" "400"
req b POST /v1.41/%63ontainers/create '{"Image":"tiny:1","HostConfig":{"Privileged":true}}'; expect "P10 %63ontainers is decoded, routed and checked" 403 "Privileged"
req b POST /v1.41/containers%2Fcreate '{"Image":"tiny:1","HostConfig":{"Privileged":true}}'; expect "P10 containers%2Fcreate is decoded, routed and checked" 403 "Privileged"
req b GET /v1.41.9/version; expect "P12 /v1.41.9 reaches the daemon's own version check" 400 "too new"
req b GET /v0/version; expect "P12 /v0 is below the floor" 400 "too old"
req b GET /v/version; expect "P12 /v/ is not a route" 403 "route not allowed"
req b POST '/v1.41/images/tiny:1/tag' 'repo=bravo/ok' -H 'Content-Type: application/x-www-form-urlencoded'; expect "P13 a form body never reaches the daemon" 400 "form"
create '{"Image":"tiny:1"}' '?name=bravo-a&name=bravo-b'; expect "P14 a repeated name parameter is refused" 400 "repeated"
python3 -c 'import sys; sys.stdout.write("{\"Image\":\"tiny:1\",\"Env\":[\"" + "a" * 1100000 + "\"]}")' >"$TMP/big.json"
req b POST $C "@$TMP/big.json"; expect "P18 a body over the cap is refused with 413" 413
req b GET /v1.40/containers/json; expect "P21 API 1.40 is below the floor" 400 "too old"
rawreq "$TMP/g-b.sock" raw "GET /_ping HTTP/1.0\r\n\r\n"; check "P22 HTTP/1.0 works" contains "$ST" "200"
rawreq "$TMP/g-b.sock" raw "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\nGET /v1.41/version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
check "P22 pipelined requests get both answers, in order" bash -c '[ "$(printf "%s\n" "$0" | grep -o "HTTP/1.1 200" | wc -l)" = 2 ] && printf "%s" "$0" | tail -c 2000 | grep -q ApiVersion' "$ST
$RB"
rawreq "$TMP/g-b.sock" raw "POST $C?name=bravo-expect HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 33\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{\"Image\":\"tiny:1\",\"Cmd\":[\"true\"]}"
check "P22 Expect: 100-continue gets 100, then the create answer" bash -c 'printf "%s" "$0" | grep -q "100 Continue" && printf "%s" "$0" | grep -q "201 Created"' "$ST
$RB"

# ---- P20: exec start with Upgrade, a JSON body and stdin bytes right behind it ----
g b run -d --name bravo-p20 tiny:1 sleep 600 >/dev/null
req b POST /v1.41/containers/bravo-p20/exec '{"AttachStdin":true,"AttachStdout":true,"Tty":true,"Cmd":["head","-c","5"]}'
EID=$(printf '%s' "$RB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])' 2>/dev/null)
rawreq "$TMP/g-b.sock" raw "POST /v1.41/exec/$EID/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"Detach\":false,\"Tty\":true}hello"
check "P20 exec start upgrades and the stdin bytes after the body reach the process" bash -c 'printf "%s" "$0" | grep -q "101 UPGRADED" && printf "%s" "$0" | grep -q hello' "$ST
$RB"

# ---- C01: the ID -> owner cache never outlives the object ----
# bravo's guard has seen (and cached) its own container by ID and by name; the container goes,
# and alpha creates one with the same name: names are never cached, the old ID is gone.
g b run -d --name swap-1 tiny:1 sleep 600 >/dev/null
SWAP_OLD=$(d inspect -f '{{.Id}}' swap-1)
req b GET /v1.41/containers/swap-1/json; expect "C01 setup: bravo inspects its swap-1 by name" 200
req b GET "/v1.41/containers/$SWAP_OLD/json"; expect "C01 setup: ... and by ID" 200
g b rm -f swap-1 >/dev/null
g a run -d --name swap-1 tiny:1 sleep 600 >/dev/null
req b GET /v1.41/containers/swap-1/json; expect "C01 the name now held by alpha's container is 404 for bravo" 404 "No such container"
req b POST /v1.41/containers/swap-1/kill; expect "C01 ... and bravo cannot kill it" 404 "No such container"
req b GET "/v1.41/containers/$SWAP_OLD/json"; expect "C01 bravo's old, cached ID answers as the deleted object it is" 404
check "C01 alpha's swap-1 still runs" eq "$(d inspect -f '{{.State.Running}} {{index .Config.Labels "io.deskrun.tenant"}}' swap-1)" "true alpha"

check "every denial was logged with the tenant" bash -c 'grep -c "tenant=bravo deny" "$0" | grep -qv "^0$"' "$TMP/g-b.log"
done_testing
