#!/usr/bin/env python3
"""Reads the TRX files of a `dotnet test` run and prints its failures again, then one closing line
`N passed, N failed` (CI reads that line). Exits 1 when anything failed, 0 otherwise.

Usage: trx-summary.py RESULTS_DIR DOTNET_TEST_EXIT_CODE

A run can also fail without a failed test in any TRX file: the build failed, or a test host crashed before it wrote
its results. `dotnet test` then exits non-zero; that counts as one failure, so that the closing line never reads
`…, 0 failed` for a run that did not pass.
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def main() -> int:
    results, exit_code = sys.argv[1], int(sys.argv[2])
    passed, failures, other = 0, [], 0
    files = sorted(glob.glob(os.path.join(results, "**", "*.trx"), recursive=True))
    for path in files:
        root = ET.parse(path).getroot()
        for result in root.iterfind(".//t:Results/t:UnitTestResult", NS):
            outcome = result.get("outcome")
            if outcome == "Passed":
                passed += 1
            elif outcome == "Failed":
                message = result.findtext(".//t:Output/t:ErrorInfo/t:Message", "", NS).strip()
                stack = result.findtext(".//t:Output/t:ErrorInfo/t:StackTrace", "", NS).strip()
                failures.append((result.get("testName"), message, stack))
            else:
                # NotExecuted and the like: the suite has no skipped tests, so anything else is a failure too.
                failures.append((result.get("testName"), f"outcome {outcome}", ""))
                other += 1

    if exit_code != 0 and not failures:
        failures.append(("dotnet test", f"exited with code {exit_code} with no failed test in {len(files)} TRX file(s): "
                         "the build failed or a test host crashed (see the output above)", ""))

    if failures:
        print(f"\n===== {len(failures)} failure(s), again =====")
        for number, (name, message, stack) in enumerate(failures, 1):
            print(f"\n--- {number}. {name}\n{message}")
            if stack:
                print(stack)
        print()
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
