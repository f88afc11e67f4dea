#include "ama_principles.hpp"

namespace medsafe::medsafetybench {

const std::vector<Category>& ama_principles() {
  // Titles condense the public text of the AMA Code of Medical Ethics, Principles I-IX.
  static const std::vector<Category> principles = {
      {"1", "competence",
       "Competent care with compassion and respect for human dignity and rights"},
      {"2", "professionalism",
       "Professionalism, honesty, and reporting physicians deficient in character or competence "
       "or engaging in fraud or deception"},
      {"3", "law",
       "Respect for the law, and responsibility to seek changes to requirements contrary to "
       "patients' best interests"},
      {"4", "rights and privacy",
       "Rights of patients, colleagues and other health professionals; patient confidences and "
       "privacy"},
      {"5", "knowledge",
       "Continued study, medical education, sharing relevant information, and consultation"},
      {"6", "freedom of practice",
       "Freedom to choose whom to serve, with whom to associate, and the care environment, "
       "except in emergencies"},
      {"7", "public health",
       "Participation in improving the community and the betterment of public health"},
      {"8", "patient first", "Responsibility to the patient as paramount"},
      {"9", "access to care", "Support for access to medical care for all people"},
  };
  return principles;
}

}  // namespace medsafe::medsafetybench
