# abk_flags.m4 - compiler flag probes for autobackup.
#
# ABK_CHECK_CFLAG(FLAG, [ACTION-IF-OK]) compiles an empty program with FLAG
# plus -Werror so that compilers which merely warn about an unknown flag are
# treated as not supporting it.
AC_DEFUN([ABK_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([abk_cv], [abk_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [abk_cv], [
    abk_save_CFLAGS="$CFLAGS"
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([abk_cv], [yes])], [AS_VAR_SET([abk_cv], [no])])
    CFLAGS="$abk_save_CFLAGS"])
  AS_VAR_IF([abk_cv], [yes], [$2])
  AS_VAR_POPDEF([abk_cv])
])

AC_DEFUN([ABK_CHECK_C11], [
  ABK_CHECK_CFLAG([-std=c11], [CFLAGS="$CFLAGS -std=c11"])
])

# ABK_WARNINGS: a wide warning set.  Warnings are errors in a git checkout
# (developers, CI) but not in a release tarball, where a newer compiler's new
# warning must not break the build (as htop does); --enable-werror or
# --disable-werror overrides.
AC_DEFUN([ABK_WARNINGS], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror],
      [turn warnings into errors (default: yes in a git checkout, no in a release tarball)])],
    [enable_werror=$enableval],
    [AS_IF([test -e "$srcdir/.git"], [enable_werror=yes], [enable_werror=no])])
  AC_MSG_CHECKING([whether warnings are errors])
  AC_MSG_RESULT([$enable_werror])
  ABK_WARN_CFLAGS=""
  for abk_flag in -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow \
      -Wmissing-prototypes -Wstrict-prototypes -Wwrite-strings \
      -Wpointer-arith -Wcast-align -Wnull-dereference -Wvla \
      -Wno-unused-parameter -fno-common; do
    ABK_CHECK_CFLAG([$abk_flag], [ABK_WARN_CFLAGS="$ABK_WARN_CFLAGS $abk_flag"])
  done
  AS_IF([test "x$enable_werror" = xyes], [ABK_WARN_CFLAGS="$ABK_WARN_CFLAGS -Werror"])
  AC_SUBST([ABK_WARN_CFLAGS])
])

# ABK_SANITIZERS: --enable-sanitizers (ASan+UBSan) and --enable-tsan.
AC_DEFUN([ABK_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers], [build with AddressSanitizer and UndefinedBehaviorSanitizer])],
    [enable_sanitizers=$enableval], [enable_sanitizers=no])
  AC_ARG_ENABLE([tsan],
    [AS_HELP_STRING([--enable-tsan], [build with ThreadSanitizer (not with --enable-sanitizers)])],
    [enable_tsan=$enableval], [enable_tsan=no])
  AS_IF([test "x$enable_sanitizers" = xyes && test "x$enable_tsan" = xyes],
    [AC_MSG_ERROR([--enable-sanitizers and --enable-tsan cannot be combined])])
  ABK_SAN_FLAGS=""
  AS_IF([test "x$enable_sanitizers" = xyes], [
    ABK_SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"])
  AS_IF([test "x$enable_tsan" = xyes], [
    ABK_SAN_FLAGS="-fsanitize=thread -fno-omit-frame-pointer -g"])
  AS_IF([test -n "$ABK_SAN_FLAGS"], [
    abk_save_CFLAGS="$CFLAGS"; abk_save_LDFLAGS="$LDFLAGS"
    CFLAGS="$CFLAGS $ABK_SAN_FLAGS"; LDFLAGS="$LDFLAGS $ABK_SAN_FLAGS"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [],
      [AC_MSG_ERROR([$CC cannot build with $ABK_SAN_FLAGS (Debian: gcc ships libasan/libubsan/libtsan)])])
    CFLAGS="$abk_save_CFLAGS"; LDFLAGS="$abk_save_LDFLAGS"])
  AC_SUBST([ABK_SAN_FLAGS])
  AM_CONDITIONAL([ENABLE_SANITIZERS], [test "x$enable_sanitizers" = xyes])
])
