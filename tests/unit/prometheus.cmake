# conf/prometheus-alerts.yml: valid rules (promtool check rules, which also lints them) and
# its unit tests, input series that make each alert fire and not fire. promtool comes with
# Debian's prometheus package (scripts/setup.sh); a missing promtool fails these tests.
add_test(NAME prometheus_alert_rules_check
  COMMAND promtool check rules ${CMAKE_SOURCE_DIR}/conf/prometheus-alerts.yml)
add_test(NAME prometheus_alert_rules_test
  COMMAND promtool test rules ${CMAKE_SOURCE_DIR}/tests/prometheus/alerts_test.yml)
set_tests_properties(prometheus_alert_rules_check prometheus_alert_rules_test
  PROPERTIES LABELS unit)
