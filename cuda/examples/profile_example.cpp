// profile_example.cpp -- the header-only bssrdf API from a plain C++ program (no Python).
//
// Evaluates the dipole R_d(r) of Jensen et al.'s marble (red channel: sigma_s' = 2.19,
// sigma_a = 0.0021 mm^-1, eta = 1.5), the multipole R(r) and T(r) of a 1 mm slab of it in air,
// and a tabulated profile read from a CSV file written by bssrdf.export.table.write_table, from
// which it also samples radii. Prints one value per line: a tag, its arguments, the value
// (17 significant digits); tests/test_cpp_example.py compares them with the Python results.
//
// Build (see README.md here):  c++ -std=c++17 -O2 -I../include profile_example.cpp -o profile_example
// Run:   ./profile_example TABLE.csv [N_PAIRS_R N_PAIRS_T [N_SAMPLES]]
//   N_PAIRS_R/T: dipole pairs of the multipole's image sum (default 64; the modal sum serves
//                r >= multipole_mode_radius either way). bssrdf.profiles.multipole.n_pairs_needed
//                gives the count that converges the series over the radii you need.
//   N_SAMPLES:   also print N stratified samples "stratified k r" for u = (k + 0.5) / N, channel 0.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bssrdf/bssrdf.h"

namespace {

// The columns of a bssrdf profile table CSV: '#' lines are comments (units, provenance), the
// first other line names the columns, then one row of numbers per radius.
struct Csv {
    std::vector<std::string> names;
    std::vector<std::vector<double>> columns;

    const std::vector<double>* column(const std::string& name) const {
        for (size_t j = 0; j < names.size(); ++j)
            if (names[j] == name) return &columns[j];
        return nullptr;
    }
};

bool read_csv(const char* path, Csv& csv) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::stringstream ss(line);
        std::string cell;
        if (csv.names.empty()) {
            while (std::getline(ss, cell, ',')) csv.names.push_back(cell);
            csv.columns.resize(csv.names.size());
            continue;
        }
        size_t j = 0;
        while (std::getline(ss, cell, ',') && j < csv.columns.size())
            csv.columns[j++].push_back(std::strtod(cell.c_str(), nullptr));
        if (j != csv.columns.size()) return false;
    }
    return !csv.names.empty() && !csv.columns[0].empty();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s TABLE.csv [N_PAIRS_R N_PAIRS_T [N_SAMPLES]]\n", argv[0]);
        return 2;
    }
    const int pairs_R = argc > 2 ? std::atoi(argv[2]) : 64;
    const int pairs_T = argc > 3 ? std::atoi(argv[3]) : 64;
    const int n_samples = argc > 4 ? std::atoi(argv[4]) : 0;

    // -- analytic profiles: marble, red channel (Jensen et al. 2001, Table 1) ----------------------
    const double sigma_a = 0.0021, sigma_s_prime = 2.19, eta = 1.5;  // mm^-1, mm^-1, n/n_air
    const double radii[] = {0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0};  // mm

    const bssrdf::Dipole<double> dip = bssrdf::make_dipole(sigma_a, sigma_s_prime, eta);
    const bssrdf::Dipole<float> dip_f = bssrdf::make_dipole(float(sigma_a), float(sigma_s_prime), float(eta));
    for (double r : radii) {
        std::printf("dipole %.17g %.17g\n", r, bssrdf::R_d(dip, r));                  // mm^-2
        std::printf("dipole_float %.17g %.9g\n", r, double(bssrdf::R_d(dip_f, float(r))));
    }
    std::printf("dipole_total %.17g\n", bssrdf::total_R_d(dip.alpha_prime, eta));

    // slab of 1 mm in air on both sides: eta_top = eta_bottom = 1.5; modal sum enabled
    const double d = 1.0;  // mm
    const bssrdf::Multipole<double> slab_R =
        bssrdf::make_multipole(sigma_a, sigma_s_prime, d, eta, eta, pairs_R, 1);
    const bssrdf::Multipole<double> slab_T =
        bssrdf::make_multipole(sigma_a, sigma_s_prime, d, eta, eta, pairs_T, 1);
    for (double r : radii) {
        std::printf("multipole_R %.17g %.17g\n", r, bssrdf::multipole_R(slab_R, r));  // mm^-2
        std::printf("multipole_T %.17g %.17g\n", r, bssrdf::multipole_T(slab_T, r));  // mm^-2
    }

    // -- a tabulated profile -----------------------------------------------------------------------
    Csv csv;
    if (!read_csv(argv[1], csv)) {
        std::fprintf(stderr, "%s: cannot read a profile table CSV\n", argv[1]);
        return 1;
    }
    const std::vector<double>* r = csv.column("r");
    if (!r || !csv.column("R_0") || !csv.column("cdf_R_0")) {
        std::fprintf(stderr, "%s: no columns r, R_0, cdf_R_0\n", argv[1]);
        return 1;
    }
    int n_ch = 0;
    while (csv.column("R_" + std::to_string(n_ch)) && csv.column("cdf_R_" + std::to_string(n_ch))) ++n_ch;
    const int n_r = static_cast<int>(r->size());
    std::vector<double> values(size_t(n_r) * n_ch), cdf(size_t(n_r) * n_ch);  // (n_r, n_ch) row-major
    for (int c = 0; c < n_ch; ++c) {
        const std::vector<double>& R = *csv.column("R_" + std::to_string(c));
        const std::vector<double>& F = *csv.column("cdf_R_" + std::to_string(c));
        for (int i = 0; i < n_r; ++i) {
            values[size_t(i) * n_ch + c] = R[i];
            cdf[size_t(i) * n_ch + c] = F[i];
        }
    }
    const bssrdf::TableView<double> table = bssrdf::make_table_view(r->data(), values.data(), cdf.data(), n_r, n_ch);
    const double r_max = bssrdf::table_r_max(table);
    std::printf("table_shape %d %d %.17g\n", n_r, n_ch, r_max);

    const double table_radii[] = {0.0, 0.0123, 0.3, 1.0, 2.71828, 7.5, 0.5 * r_max, r_max, 1.5 * r_max};
    const double us[] = {0.0, 1e-6, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0};
    for (int c = 0; c < n_ch; ++c) {
        for (double x : table_radii) {
            std::printf("table_eval %d %.17g %.17g\n", c, x, bssrdf::table_eval(table, x, c));
            std::printf("table_pdf %d %.17g %.17g\n", c, x, bssrdf::table_pdf(table, x, c));
        }
        for (double u : us) std::printf("table_sample %d %.17g %.17g\n", c, u, bssrdf::table_sample_radius(table, u, c));
    }
    for (int k = 0; k < n_samples; ++k) {
        const double u = (k + 0.5) / n_samples;
        std::printf("stratified %d %.17g\n", k, bssrdf::table_sample_radius(table, u, 0));
    }
    return 0;
}
