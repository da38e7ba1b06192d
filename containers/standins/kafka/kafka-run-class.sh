#!/bin/sh
# Runs one class of the Kafka jars, like the distribution's script of the same name (with fewer
# options): kafka-run-class.sh CLASS [ARGS...]
main=$1
shift
# shellcheck disable=SC2086 # the *_OPTS variables hold several options
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} ${KAFKA_OPTS:-} -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=${KAFKA_LOG4J_CONFIG:-/opt/kafka/config/tools-log4j2.properties}" \
    -cp "/opt/kafka/libs/*" "$main" "$@"
