#pragma once
// main() for console tests: a QApplication (widgets), root for loop devices, a
// private mount namespace like the system tests.
#include <QApplication>
#include <QTest>
#include <cstdio>

#include "tests/support/btrfs_fixture.h"

#define STREAMCHAIN_CONSOLE_TEST_MAIN(TestObject)                                                          \
    int main(int argc, char** argv) {                                                                      \
        if (!sctest::isRoot()) {                                                                           \
            std::fprintf(stderr, "console tests need root (loop devices, namespaces, the daemon)\n");     \
            return 1;                                                                                      \
        }                                                                                                  \
        sctest::enterPrivateMountNamespace();                                                              \
        QApplication app(argc, argv);                                                                      \
        TestObject tc;                                                                                     \
        QTEST_SET_MAIN_SOURCE_PATH                                                                         \
        return QTest::qExec(&tc, argc, argv);                                                              \
    }
