#!/usr/bin/env bash
# Measures one Linux TCP timer schedule in two private network namespaces joined by a veth pair.
# Nothing touches the host's own network or sysctls: sysctls and iptables rules are set inside the
# namespaces this script creates, and the namespaces are deleted on every exit path.
#   usage: bench/linux-timers/measure.sh EXP OUTDIR
#   EXP: keepalive | keepalive-ut | keepalive-answered | persist | persist-drop | persist-ut | data-ut | data
# Writes OUTDIR/EXP.pcap (client side, tcpdump -w), OUTDIR/EXP.txt (tcpdump -tt -n -S -r) and
# OUTDIR/EXP.events (the client's JSON events, time.time()).
set -euo pipefail
exp=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
a=tltimers-a-$$
b=tltimers-b-$$
mkdir -p "$out"
cleanup() {
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2>/dev/null || true
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add va type veth peer name vb netns "$b"
ip -n "$a" addr add 10.231.0.1/24 dev va
ip -n "$b" addr add 10.231.0.2/24 dev vb
ip -n "$a" link set va up
ip -n "$b" link set vb up
ip -n "$a" link set lo up
ip -n "$b" link set lo up
drop_peer() { ip netns exec "$b" iptables -A INPUT -s 10.231.0.1 -p tcp -j DROP; echo "{\"t\": $(date +%s.%N), \"event\": \"peer-dropped\"}" >>"$out/$exp.events"; }
case $exp in
  persist-drop) ip netns exec "$a" sysctl -qw net.ipv4.tcp_retries2=3 ;;
  data) ip netns exec "$a" sysctl -qw net.ipv4.tcp_retries2=4 ;;
esac
mode=idle
case $exp in persist*) mode=noread ;; esac
ip netns exec "$a" tcpdump -U -n -i va -w "$out/$exp.pcap" tcp 2>/dev/null &
dump_pid=$!
ip netns exec "$b" python3 "$here/peer.py" server 8080 "$mode" >"$out/$exp.server" &
server_pid=$!
sleep 1
: >"$out/$exp.events"
ip netns exec "$a" python3 "$here/peer.py" client 10.231.0.2 8080 "$exp" >>"$out/$exp.events" &
client_pid=$!
case $exp in
  keepalive | keepalive-ut) sleep 0.5 && drop_peer ;;
  data | data-ut) sleep 0.5 && drop_peer ;;
  persist-drop) sleep 1.5 && drop_peer ;;
esac
wait "$client_pid" || true
ip netns exec "$a" nstat -az TcpExtTCPAbortOnTimeout TcpOutRsts TcpExtTCPKeepAlive TcpExtTCPWinProbe >"$out/$exp.nstat"
sleep 1
kill "$dump_pid" && wait "$dump_pid" 2>/dev/null || true
dump_pid=
tcpdump -tt -n -S -r "$out/$exp.pcap" >"$out/$exp.txt" 2>/dev/null
echo "$exp: $(wc -l <"$out/$exp.txt") segments; events:"
cat "$out/$exp.events"
