// The translation unit that owns the tests' precompiled header (cmake/BackhaulTesting.cmake); intentionally empty.
