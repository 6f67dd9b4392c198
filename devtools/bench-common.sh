# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared by the benchmark scripts (sourced, not run).
#
# AWK_MEDIAN: an awk function, median(list), of a space-separated list of
# numbers ("" for an empty list). Prepend it to an awk program:
#   awk "$AWK_MEDIAN"' { ... median(l) ... }'
# shellcheck disable=SC2034 # used by the scripts that source this file
AWK_MEDIAN='
function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j > 0 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n == 0) return ""
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'
