#!/bin/sh
shift
exec ip netns exec graft_b /bin/sh -c "$*"
